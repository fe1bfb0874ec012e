/**
 * The "Check an account" view (`#/lookup/<provider>/<account>`): the form, then the verified answer: the
 * outcome in words, the current keys with their fingerprints, version, status, protocols and
 * capabilities, the provider's credential that signed it, every check the verifier made, the account's
 * history as a timeline, and a button for the discovery of the same account at every provider.
 */
import type { Statement } from '../../verifier/formats/statement.js';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { checkAccount, discoverAccount, type AccountOutcome, type Signer, type TimelineVersion } from './account.js';
import { field, h, mount, scrolling } from './dom.js';
import { isoTime, publicKeyFingerprint } from './format.js';
import { checkList, evidenceOffer, failureWords, outcome } from './report-view.js';
import type { Session } from './session.js';

export function lookupHash(provider: string, account: string): string {
  return `#/lookup/${encodeURIComponent(provider)}/${encodeURIComponent(account)}`;
}

function form(provider: string, account: string): HTMLFormElement {
  const p = h('input', {
    name: 'provider',
    value: provider,
    required: true,
    autocomplete: 'off',
    placeholder: 'chat.example',
  });
  const a = h('input', {
    name: 'account',
    value: account,
    required: true,
    autocomplete: 'off',
    placeholder: 'alice@example.org',
  });
  return h(
    'form',
    {
      class: 'lookup',
      'aria-label': 'Check an account',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const hash = lookupHash(p.value.trim(), a.value.trim());
        // The same link again changes no hash: announce it, so that the view checks again.
        if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
        else location.hash = hash;
      },
    },
    field('Provider', p, 'The provider id, a DNS name such as chat.example'),
    field('Account', a, 'The account at that provider, such as alice@example.org or tel:+15550100001'),
    h('button', { type: 'submit' }, 'Check'),
  );
}

function keysTable(s: Statement): HTMLTableElement {
  return h(
    'table',
    { class: 'keys' },
    h('caption', {}, `Keys of version ${s.version} (${s.status}), issued ${isoTime(s.issuedAt)}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Key id', 'Algorithm', 'Protocol', 'Capabilities', 'Fingerprint (SHA-256)'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      s.keys.map((k) =>
        h(
          'tr',
          {},
          h('td', {}, k.id),
          h('td', {}, k.algorithm),
          h('td', {}, k.protocol),
          h('td', {}, k.capabilities.join(', ') || '(none)'),
          h(
            'td',
            {},
            h('code', { class: 'fingerprint' }, publicKeyFingerprint(k.publicKey)),
            h('details', {}, h('summary', {}, 'public key'), h('code', { class: 'key' }, toBase64(k.publicKey))),
          ),
        ),
      ),
    ),
  );
}

function signerBlock(s: Signer): HTMLElement {
  return h(
    'dl',
    { class: 'signer' },
    h('dt', {}, 'Signed by'),
    h(
      'dd',
      {},
      `${s.providerId}, credential ${s.fingerprint.slice(0, 16)}… (enrolment ${s.position + 1} of the credential set)`,
    ),
    h('dt', {}, 'Certificate (as it states; kt audit checks its chain)'),
    h('dd', {}, `subject ${s.subject}; issuer ${s.issuer}; valid ${isoTime(s.notBefore)} to ${isoTime(s.notAfter)}`),
  );
}

function timelineList(versions: TimelineVersion[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'timeline-title' },
    h('h3', { id: 'timeline-title' }, 'History (verified as a chain)'),
    h(
      'ol',
      { class: 'timeline', reversed: true },
      [...versions]
        .reverse()
        .map((v) =>
          h(
            'li',
            { class: v.statement ? v.statement.status : 'erased', value: v.version },
            h('strong', {}, `Version ${v.version}`),
            v.statement
              ? [
                  ` — ${isoTime(v.statement.issuedAt)} — ${v.statement.status}; keys ${v.statement.keys.map((k) => k.id).join(', ') || 'none'}`,
                  v.added.length > 0 && h('span', { class: 'change' }, ` · key change: added ${v.added.join(', ')}`),
                  v.removed.length > 0 && h('span', { class: 'change' }, ` · removed ${v.removed.join(', ')}`),
                ]
              : ' — erased by a later deletion: what it bound can no longer be checked',
          ),
        ),
    ),
  );
}

function verified(out: Extract<AccountOutcome, { ok: true }>, provider: string, account: string): HTMLElement[] {
  const r = out.history.lookup;
  const at = `(epoch ${r.epoch}, tree of ${r.checkpoint.size} entries)`;
  if (r.status === 'absent')
    return [outcome(true, `${provider} is enrolled and has no account ${account} ${at}.`), checkList(out.checks)];
  if (r.status === 'not_enrolled')
    return [
      outcome(true, `${provider} is not enrolled in this directory, so it has no account ${account} ${at}.`),
      h('p', {}, `Enrolled providers: ${r.providers?.join(', ') || 'none'}.`),
      checkList(out.checks),
    ];
  const s = r.statement!;
  const what = r.status === 'deleted' ? 'was deleted by its provider' : 'is present';
  return [
    outcome(true, `${account} at ${provider} ${what}, version ${s.version} ${at}.`),
    scrolling('Keys', keysTable(s)),
    out.signer ? signerBlock(out.signer) : h('p', {}, ''),
    h('h3', {}, 'Checks'),
    checkList(out.checks),
    timelineList(out.timeline),
  ];
}

function discoveryButton(session: Session, account: string): HTMLElement {
  const result = h('div', { class: 'discovery' });
  const button = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        mount(result, h('p', {}, 'Looking this account up at every enrolled provider…'));
        const d = await discoverAccount(session, account);
        if (!d.ok)
          return mount(result, outcome(false, failureWords(d.error)), evidenceOffer(session, d.error, d.evidence));
        const found = d.value;
        mount(
          result,
          outcome(
            true,
            `${account} looked up at all ${found.size} enrolled providers in epoch ${[...found.values()][0].epoch}.`,
          ),
          h(
            'ul',
            {},
            [...found].map(([p, r]) =>
              h(
                'li',
                {},
                h('a', { href: lookupHash(p, account) }, p),
                `: ${r.status}${r.statement ? `, version ${r.statement.version}` : ''}`,
              ),
            ),
          ),
        );
      },
    },
    'Find this account at every provider',
  );
  return h(
    'section',
    { 'aria-labelledby': 'discovery-title' },
    h('h3', { id: 'discovery-title' }, 'Discovery'),
    button,
    result,
  );
}

/** Renders the view into `main`, and checks (provider, account) when both are given. */
export async function accountView(main: HTMLElement, session: Session, provider = '', account = ''): Promise<void> {
  const result = h('div', { class: 'result', 'aria-busy': 'true' });
  mount(main, h('h2', {}, 'Check an account'), form(provider, account), result);
  if (!provider || !account) return void result.removeAttribute('aria-busy');
  mount(result, h('p', {}, `Checking ${account} at ${provider}…`));
  const out = await checkAccount(session, provider, account);
  result.removeAttribute('aria-busy');
  if (out.ok) return mount(result, verified(out, provider, account), discoveryButton(session, account));
  mount(
    result,
    outcome(false, failureWords(out.error)),
    out.checks && checkList(out.checks),
    evidenceOffer(session, out.error, out.evidence),
  );
}
