/**
 * The "Directory" view (`#/directory`): the verified checkpoint and its age, the epochs over time as a
 * chart (and a table), the epoch cadence measured from the heads beside the one the operator states, the
 * witnesses and when each last cosigned, and the enrolled providers with their certificates, proven
 * against the epoch head's credential set (explorer/app/directory-data.ts).
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { h, mount, scrolling } from './dom.js';
import { age, count, duration, isoTime } from './format.js';
import { epochCadence, loadOverview, type Overview, type ProviderRow } from './directory-data.js';
import { epochsChart } from './chart.js';
import { evidenceOffer, failureWords, outcome } from './report-view.js';
import { exclusive, type Session } from './session.js';

function providersTable(rows: ProviderRow[], now: number): HTMLTableElement {
  const cols = [
    'Provider',
    'Certificate subject (as stated)',
    'Issuer (as stated)',
    'Valid',
    'Status',
    'Enrolment entry',
  ];
  return h(
    'table',
    { class: 'providers' },
    h('caption', {}, `${rows.length} enrolment(s): exactly the epoch's credential set, each proven in the log`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((p) => {
        const expired = now > p.notAfter;
        const status = p.revocation
          ? `revoked at ${isoTime(p.revocation.time)} (entry ${count(p.revocation.logIndex)}: ${p.revocation.reason})`
          : expired
            ? 'expired'
            : 'active (no revocation listed)';
        return h(
          'tr',
          { class: p.revocation || expired ? 'inactive' : 'active' },
          h(
            'th',
            { scope: 'row' },
            p.providerId,
            h('br'),
            h('code', { class: 'fingerprint' }, `${p.algorithm} ${p.fingerprint.slice(0, 16)}…`),
          ),
          h('td', {}, p.subject),
          h('td', {}, p.issuer),
          h('td', {}, `${isoTime(p.notBefore)} to ${isoTime(p.notAfter)}`),
          h('td', {}, status),
          h('td', {}, count(p.logIndex)),
        );
      }),
    ),
  );
}

function witnessesList(session: Session, o: Overview, now: number): HTMLElement {
  const pinned = [...new Set(session.kept.pins.witnesses.map((w) => w.split('+')[0]))];
  const advertised = ((session.config?.witnesses as string[] | undefined) ?? []).map((w) => w.split('+')[0]);
  const names = [...new Set([...pinned, ...advertised])];
  if (names.length === 0)
    return h('p', {}, 'No witnesses: neither your pins nor the server name any. Nobody else vouches for this tree.');
  return h(
    'ul',
    { class: 'witnesses' },
    names.map((name) => {
      const c = o.cosignatures.find((x) => x.name === name);
      if (!pinned.includes(name))
        return h('li', {}, `${name}: advertised by the server, not in your pins, so its cosignature is not checked`);
      if (!c) return h('li', {}, `${name}: no cosignature on the current checkpoint`);
      const ms = Number(c.timestamp) * 1000;
      return h('li', {}, `${name}: last cosigned ${isoTime(ms)} (${age(ms, now)}), verified`);
    }),
  );
}

function epochsTable(o: Overview): HTMLElement {
  return h(
    'details',
    {},
    h('summary', {}, 'The epochs as a table'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Epoch', 'Closed at', 'Tree size'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        [...o.epochs]
          .reverse()
          .map((e) => h('tr', {}, h('td', {}, e.epoch), h('td', {}, isoTime(e.time)), h('td', {}, count(e.treeSize)))),
      ),
    ),
  );
}

function overview(session: Session, o: Overview): Element[] {
  const now = Date.now();
  const cadence = epochCadence(o.epochs);
  const stated = session.config?.epochIntervalMs;
  return [
    outcome(
      true,
      `the log ${o.checkpoint.origin} holds ${count(o.checkpoint.size)} entries; epoch ${o.head.epoch} closed ${age(o.head.time, now)}.`,
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Newest checkpoint'),
      h(
        'dd',
        {},
        `tree of ${count(o.checkpoint.size)} entries, epoch ${o.head.epoch} of ${isoTime(o.head.time)} (${age(o.head.time, now)})`,
      ),
      h('dt', {}, 'Epoch cadence'),
      h(
        'dd',
        {},
        `${cadence === undefined ? 'one epoch shown' : `every ${duration(cadence)} (median of the epochs shown)`}${typeof stated === 'number' ? `; the operator states ${duration(stated)}` : ''}`,
      ),
      h('dt', {}, 'Accounts and keys'),
      h('dd', {}, `map root ${toHex(o.head.mapRoot).slice(0, 16)}…, ${o.head.credentialCount} enrolment(s)`),
    ),
    h('h3', {}, `The last ${o.epochs.length} epoch(s)`),
    epochsChart(o.epochs),
    epochsTable(o),
    h('h3', {}, 'Witnesses'),
    witnessesList(session, o, now),
    h('h3', {}, 'Enrolled providers'),
    scrolling('Enrolled providers', providersTable(o.providers, now)),
    h(
      'p',
      { class: 'hint' },
      'A revocation the directory lists is proven in the log; one it does not list cannot be seen here. An auditor reads every entry (kt audit).',
    ),
  ];
}

export async function directoryView(main: HTMLElement, session: Session): Promise<void> {
  const result = h('div', { class: 'result' }, h('p', {}, 'Reading and verifying the log…'));
  mount(main, h('h2', { tabindex: '-1' }, 'The directory at a glance'), result);
  const out = await exclusive(session, () => loadOverview(session));
  if (out.ok) return mount(result, overview(session, out.value));
  mount(
    result,
    outcome(false, failureWords(out.error)),
    h('p', { class: 'check failed' }, `✗ FAILED: ${out.error.message}`),
    evidenceOffer(session, out.error, out.evidence),
  );
}
