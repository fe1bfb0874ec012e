/**
 * Attacks on what a lookup says about the provider (docs/PROTOCOL.md section 17): a malicious server, wrapping a
 * real directory, tells a client that an enrolled provider is not enrolled (so that its users look unreachable,
 * or a key is never looked for), or hides that a provider is not enrolled (so that a typo'd provider passes for
 * an absence). The client catches each with the code of VERIFIER.md's table; the honest answers verify.
 */
import { describe, expect, it } from 'vitest';
import { enrolProvider, openTestDirectory } from '../helpers/directory.js';
import { parties, serverOf, type Fetch } from './malicious.js';

type Lookup = Record<string, unknown> & { absent?: unknown; notEnrolled?: { credentials: string[] } };

/** The honest server, with every lookup's JSON passed through `edit`. */
function rewriting(honest: Fetch, edit: (l: Lookup) => Lookup): Fetch {
  return async (url, init) => {
    const res = await honest(url, init);
    if (!new URL(url).pathname.startsWith('/v1/lookup/')) return res;
    return new Response(JSON.stringify(edit((await res.json()) as Lookup)), { status: res.status });
  };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code ?? String(e),
  );

async function twoProviders() {
  const t = await openTestDirectory();
  await enrolProvider(t, 'chat.example');
  await enrolProvider(t, 'talk.example');
  const honest = serverOf(t);
  const typo = (await (await honest('http://kt.test/v1/lookup/chat.exmaple/amy%40chat.example')).json()) as Lookup;
  const absent = (await (await honest('http://kt.test/v1/lookup/talk.example/amy%40chat.example')).json()) as Lookup;
  return { t, honest, set: typo.notEnrolled!.credentials, talkEnrolment: absent.absent };
}

describe('attacks on what a lookup says about the provider', () => {
  it('an honest directory proves both an absence and a provider that is not enrolled', async () => {
    const { t, honest } = await twoProviders();
    const client = parties.client(honest, t);
    expect((await client.lookup('chat.example', 'amy@chat.example')).status).toBe('absent');
    expect(await client.lookup('chat.exmaple', 'amy@chat.example')).toMatchObject({
      status: 'not_enrolled',
      providers: ['chat.example', 'talk.example'],
    });
  });

  it('an enrolled provider claimed not enrolled: with the epoch set, or a set without its entry', async () => {
    const { t, honest, set } = await twoProviders();
    const claim = (credentials: string[]) =>
      rewriting(honest, ({ absent, ...l }) => ({ ...l, notEnrolled: { credentials } }));
    for (const credentials of [set, set.slice(1), []])
      expect(await code(parties.client(claim(credentials), t).lookup('chat.example', 'amy@chat.example'))).toBe(
        'bad_not_enrolled',
      );
  });

  it('a provider not enrolled passed off as an enrolled one with no such account', async () => {
    const { t, honest, talkEnrolment } = await twoProviders();
    const hidden = rewriting(honest, ({ notEnrolled, ...l }) => ({ ...l, absent: talkEnrolment }));
    expect(await code(parties.client(hidden, t).lookup('chat.exmaple', 'amy@chat.example'))).toBe('bad_enrolment');
    const bare = rewriting(honest, ({ notEnrolled, ...l }) => l);
    expect(await code(parties.client(bare, t).lookup('chat.exmaple', 'amy@chat.example'))).toBe('bad_proof_json');
  });
});
