/**
 * The search for a statement's credential (log/directory/credentials.ts): named by fingerprint, only that
 * credential is tried; unnamed, at most MAX_UNNAMED_VERIFICATIONS signature checks are made, so a statement
 * signed by a credential past them is refused as if none had signed it.
 */
import { describe, expect, it } from 'vitest';
import { MAX_UNNAMED_VERIFICATIONS } from '../../../log/directory/credentials.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  providerFor,
  statementFor,
  type TestProvider,
} from '../../helpers/directory.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe('the credential search', () => {
  it('caps the signature checks of a statement that does not name its credential', async () => {
    const t = await openTestDirectory({ maxQueue: 100 });
    const providers: TestProvider[] = [];
    for (let i = 0; i <= MAX_UNNAMED_VERIFICATIONS; i++) providers.push(await enrolProvider(t, `p${i}.example`));
    // A statement for a provider that is not enrolled, signed by another provider's key.
    const forGhost = (signer: TestProvider) =>
      providerFor(signer.id, signer.leaf).sign(
        statementFor({ ...signer, id: 'ghost.example' }, 'a@ghost.example', 1, [identityKey()], t.clock.now),
      );
    const first = forGhost(providers[0]);
    expect(await refusal(t.dir.submit(first.statement, first.signature))).toBe('namespace_violation');
    // The last credential is past the cap: not tried.
    const last = forGhost(providers[MAX_UNNAMED_VERIFICATIONS]);
    expect(await refusal(t.dir.submit(last.statement, last.signature))).toBe('unknown_provider');
    // Named, the one credential is checked, whatever the number of others.
    const own = providers[MAX_UNNAMED_VERIFICATIONS];
    const signed = own.sign(statementFor(own, `b@${own.id}`, 1, [identityKey()], t.clock.now));
    const fingerprint = t.dir.credentials.all().at(-1)!.fingerprint;
    expect(await refusal(t.dir.submit(signed.statement, signed.signature, fingerprint))).toBe('accepted');
  });
});
