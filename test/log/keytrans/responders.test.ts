/**
 * The KEYTRANS responders (log/keytrans/: search, contact monitoring, owner initialization and monitoring) against
 * the client that checks them (verifier/keytrans/), over deployments built in memory from scripts of epochs
 * (test/helpers/memory-deployment.ts), in contactMonitoring and thirdPartyManagement modes: every response, sent
 * through its TLS encoding, is accepted by the client, for greatest-version and fixed-version searches (step 6 of
 * the latter included) of several labels with several versions, at every tree size across the two modes, for new
 * clients and for clients holding the state of an earlier size or of the same one; a client's monitoring map and
 * an owner's state carried across new epochs, the owner's monitoring stopping where a new version appears; a
 * deployment with a maximum lifetime, where a version is refused as expired only where the client refuses it too;
 * the refusals with their codes; and responses with a bit flipped, which the client refuses.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../../log/keytrans/deployment-view.js';
import { ResponderError, type ResponderErrorCode } from '../../../log/keytrans/errors.js';
import { respondContactMonitor } from '../../../log/keytrans/monitor-responder.js';
import { respondOwnerInit, respondOwnerMonitor } from '../../../log/keytrans/owner-responder.js';
import { respondSearch } from '../../../log/keytrans/search-responder.js';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import { encodeMessage, type Message } from '../../../verifier/keytrans/messages.js';
import { verifyContactMonitor } from '../../../verifier/keytrans/monitor.js';
import { checkOwnerProgress, verifyOwnerInit, verifyOwnerMonitor } from '../../../verifier/keytrans/owner.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import type { MonitorMapEntry, SearchRequest, SearchResponse } from '../../../verifier/keytrans/types.js';
import { isDistinguished } from '../../../verifier/keytrans/view.js';
import { fromUtf8, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import {
  allBytes,
  ctxOf,
  expectFlipsRefused,
  greatestAt,
  monitor,
  ownerInit,
  ownerMonitor,
  retainedFrom,
  search,
  spread,
  startAt,
} from '../../helpers/keytrans-round-trips.js';
import { type DeploymentScript, MemoryDeployment } from '../../helpers/memory-deployment.js';

/**
 * Twenty epochs: alice gets 7 versions, bob 7 (two in one epoch: no log entry holds the first of them as the
 * greatest, which a fixed-version search finds in its step 6), carol 5; some epochs only advance the tree.
 */
const EPOCHS: string[][] = [
  ['alice'],
  ['bob'],
  [],
  ['alice', 'carol'],
  [],
  ['alice'],
  ['bob'],
  [],
  ['alice', 'carol'],
  ['bob', 'bob'],
  ['bob'],
  ['alice'],
  [],
  ['carol'],
  ['alice'],
  [],
  ['bob', 'carol'],
  ['alice'],
  [],
  ['bob'],
];
const LABELS = ['alice', 'bob', 'carol'];

const deployments = new Map<string, MemoryDeployment>();
/** The deployment of a script, built once per test file. */
function deployment(script: DeploymentScript, name: string = script.mode): MemoryDeployment {
  let d = deployments.get(name);
  if (!d) deployments.set(name, (d = new MemoryDeployment(script)));
  return d;
}
const contact = () => deployment({ mode: 'contactMonitoring', epochs: EPOCHS });
const managed = () => deployment({ mode: 'thirdPartyManagement', epochs: EPOCHS, seed: 2 });

/** Expects `f` to throw a ResponderError with `code`. */
function expectRefused(f: () => unknown, code: ResponderErrorCode): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ResponderError);
  expect((caught as ResponderError).code).toBe(code);
}

const statesCache = new Map<MemoryDeployment, GlobalState[]>();
/** A new client's state at every size, from a greatest-version search for alice (held from the first entry). */
function statesOf(d: MemoryDeployment): GlobalState[] {
  let states = statesCache.get(d);
  if (!states) {
    states = [];
    for (let n = 1; n <= d.size; n++) states[n] = search(d, null, n, 'alice', null).result.state;
    statesCache.set(d, states);
  }
  return states;
}

/** A monitoring map the client may hold: ascending positions, and versions ascending with them. */
function mapOf(entries: MonitorMapEntry[]): MonitorMapEntry[] {
  const kept: MonitorMapEntry[] = [];
  for (const e of [...entries].sort((a, b) => b.position - a.position))
    if (kept.length === 0 || (e.position < kept[0].position && e.version < kept[0].version)) kept.unshift(e);
  return kept;
}

describe.each([['contactMonitoring'], ['thirdPartyManagement']] as const)('KEYTRANS responders, %s', (mode) => {
  const d = () => (mode === 'contactMonitoring' ? contact() : managed());
  /** Every other size, the even ones in one mode and the odd ones in the other, to keep the run short. */
  const sizes = (dep: MemoryDeployment) =>
    Array.from({ length: dep.size }, (_, i) => i + 1).filter((n) => n % 2 === (mode === 'contactMonitoring' ? 0 : 1));

  it('answers greatest-version searches at many sizes, to new clients and to clients of earlier sizes', () => {
    const dep = d();
    const states = statesOf(dep);
    for (const n of sizes(dep))
      for (const [i, label] of LABELS.entries()) {
        const greatest = greatestAt(dep, label, n);
        if (greatest === null) continue;
        const earlier = [states[n], states[Math.max(1, n - 1)], states[Math.ceil(n / 3)]][(n + i) % 3];
        for (const state of [null, earlier]) {
          const { response, result } = search(dep, state, n, label, null);
          expect([result.version, fromUtf8(result.value.value)]).toEqual([
            greatest,
            `value ${greatest} of ${hex(label)}`,
          ]);
          expect(result.state.treeHead).toEqual(dep.view(n).treeHead);
          expect(response.fullTreeHead.headType).toBe(state?.treeHead.treeSize === n ? 'same' : 'updated');
        }
      }
  });

  it('answers fixed-version searches of each version at many sizes, to new clients and to earlier ones', () => {
    const dep = d();
    const states = statesOf(dep);
    let [searches, fallbacks] = [0, 0];
    for (const n of sizes(dep))
      for (const [i, label] of LABELS.entries())
        for (let v = 0; v <= (greatestAt(dep, label, n) ?? -1); v++) {
          if ((n + v + i) % 3 === 1) continue; // two versions in three at each size, to keep the run short
          const state = (n + v) % 2 === 0 ? null : states[Math.max(1, n - 1 - (v % 3))];
          const { result } = search(dep, state, n, label, v);
          expect([result.version, fromUtf8(result.value.value)]).toEqual([v, `value ${v} of ${hex(label)}`]);
          searches++;
          // Step 6: the binary search found no entry with the target as the greatest, and looked it up again.
          if (greatestAtPosition(dep, label, result.terminal)! > v) fallbacks++;
        }
    expect([searches > 50, fallbacks > 0]).toEqual([true, true]);
  });

  it("carries a client's monitoring map across new epochs, each response accepted", () => {
    const dep = d();
    let moves = 0;
    for (const [label, from] of [
      ['alice', 6],
      ['bob', 11],
      ['carol', 9],
    ] as const) {
      const greatest = search(dep, null, from, label, null);
      const fixed = search(dep, greatest.result.state, from, label, 1);
      const retained = retainedFrom(
        dep,
        fixed.request,
        fixed.response,
        retainedFrom(dep, greatest.request, greatest.response),
      );
      let entries = mapOf([
        { position: greatest.result.terminal, version: greatest.result.version },
        { position: fixed.result.terminal, version: 1 },
      ]);
      let state = fixed.result.state;
      for (let n = from; n <= dep.size; n++) {
        const { response, result } = monitor(dep, state, retained, n, label, entries);
        expect(response.fullTreeHead.headType).toBe(n === from ? 'same' : 'updated');
        if (result.contact.map((e) => e.position).join() !== entries.map((e) => e.position).join()) moves++;
        [state, entries] = [result.state, result.contact];
      }
      expect(state.treeHead.treeSize).toBe(dep.size);
    }
    expect(moves).toBeGreaterThan(0);
  });

  it('initializes owners from every distinguished start, and monitors them across new epochs', () => {
    const dep = d();
    const states = statesOf(dep);
    for (const n of sizes(dep)) {
      const starts = Array.from({ length: n }, (_, x) => x).filter((x) => isDistinguishedAt(dep, n, x));
      for (const [i, label] of [...LABELS, 'nobody'].entries()) {
        if ((n + i) % 3 !== 0) continue; // each label at every third size
        for (const start of label === 'alice' ? starts : starts.slice(-1)) {
          const { result } = ownerInit(dep, (n + i) % 2 === 0 ? null : states[Math.max(1, n - 2)], n, label, start);
          expect(result.owner).toEqual({ starting: start, versionAtStarting: greatestAtPosition(dep, label, start) });
        }
      }
    }
    let [moved, stops, reinits, alerts, alertsAgain] = [0, 0, 0, 0, 0];
    for (const label of LABELS) {
      let { state, owner, retained } = ownerInit(dep, null, 4, label, startAt(dep, 4)!).result;
      for (let n = 5; n <= dep.size; n++) {
        const monitored = ownerMonitor(dep, state, owner, retained, n, label).result;
        if (monitored.owner.starting > owner.starting) moved++;
        // The log stops at the first distinguished entry (in the walk's order) holding a new version.
        const changed = Array.from({ length: n }, (_, x) => x).filter(
          (x) =>
            x > owner.starting &&
            isDistinguishedAt(dep, n, x) &&
            greatestAtPosition(dep, label, x) !== owner.versionAtStarting,
        );
        if (changed.length > 0) {
          expect(monitored.owner.starting).toBeLessThan(Math.min(...changed));
          expect(monitored.stoppedAt).toBe(Math.min(...changed));
          stops++;
        } else expect(monitored.stoppedAt).toBeNull();
        // The owner's alert for a version it did not make: at once if the log verified nothing before stopping,
        // else when asked again from the new start.
        if (monitored.stoppedAt !== null && monitored.owner.starting === owner.starting) {
          expect(() => checkOwnerProgress(owner, monitored)).toThrow(/did not process/);
          alerts++;
        } else if (monitored.stoppedAt !== null) {
          expect(checkOwnerProgress(owner, monitored)).toBe(false);
          const again = ownerMonitor(dep, monitored.state, monitored.owner, monitored.retained, n, label).result;
          expect(again.stoppedAt).toBe(monitored.stoppedAt);
          expect(() => checkOwnerProgress(monitored.owner, again)).toThrow(/did not process/);
          alertsAgain++;
        } else expect(checkOwnerProgress(owner, monitored)).toBe(true);
        ({ state, owner, retained } = monitored);
        if (greatestAt(dep, label, n) !== owner.versionAtStarting) {
          ({ state, owner, retained } = ownerInit(dep, state, n, label, startAt(dep, n)!).result);
          reinits++;
        }
      }
    }
    expect([moved > 0, stops > 0, reinits > 0, alerts > 0, alertsAgain > 0]).toEqual([true, true, true, true, true]);
  });
});

const hex = (label: string) => toHex(utf8(label));

function isDistinguishedAt(d: MemoryDeployment, size: number, x: number): boolean {
  return isDistinguished(x, size, (p) => d.timestamp(p), d.config.reasonableMonitoringWindow);
}

/** The greatest version of `label` the log entry at `position` holds. */
function greatestAtPosition(d: MemoryDeployment, label: string, position: number): number | null {
  return greatestAt(d, label, position + 1);
}

/** The view as if the deployment had `config` (its tree head still signed over the real one). */
const withConfig = (view: DeploymentView, config: Partial<DeploymentView['config']>): DeploymentView => ({
  ...view,
  config: { ...view.config, ...config },
});

describe('KEYTRANS responders, with a maximum lifetime', () => {
  const lifetime = 15_000;
  const dep = () =>
    deployment({ mode: 'contactMonitoring', epochs: EPOCHS, seed: 3, maximumLifetime: lifetime }, 'lifetime');

  it('answers searches, refusing as expired only versions whose search answered without the lifetime the client refuses', () => {
    const d = dep();
    let [answered, expired] = [0, 0];
    for (let n = 6; n <= d.size; n += 2)
      for (const label of ['alice', 'carol']) {
        const greatest = greatestAt(d, label, n);
        if (greatest === null) continue;
        expect(search(d, null, n, label, null).result.version).toBe(greatest);
        for (let v = 0; v <= greatest; v++) {
          const request: SearchRequest = { last: null, label: utf8(label), version: v };
          try {
            expect(search(d, null, n, label, v).result.version).toBe(v);
            answered++;
          } catch (e) {
            expect((e as ResponderError).code).toBe('kt_version_expired');
            expired++;
            // Answered as if there were no lifetime (the proof skips no expired entry), the client refuses it.
            const response = respondSearch(withConfig(d.view(n), { maximumLifetime: null }), request);
            expect(() => verifySearch(d.suite, d.config, null, request, response, d.now(n))).toThrow();
          }
        }
      }
    expect([answered > 20, expired > 0]).toEqual([true, true]);
  });

  it("initializes an owner with the unexpired part of the start's path only", () => {
    const d = dep();
    for (let n = 8; n <= d.size; n += 3) {
      const { response, result } = ownerInit(d, null, n, 'alice', startAt(d, n)!);
      expect(result.owner.starting).toBe(startAt(d, n));
      expect(response.greatestVersions.length).toBeGreaterThan(0);
    }
  });
});

describe('KEYTRANS responders: refusals', () => {
  it('refuses a label or a version the tree does not hold (draft-05 has no negative result)', () => {
    const d = contact();
    expectRefused(
      () => respondSearch(d.view(5), { last: null, label: utf8('nobody'), version: null }),
      'kt_label_absent',
    );
    expectRefused(() => respondSearch(d.view(5), { last: null, label: utf8('nobody'), version: 0 }), 'kt_label_absent');
    expectRefused(
      () => respondSearch(d.view(20), { last: null, label: utf8('alice'), version: 7 }),
      'kt_version_absent',
    );
    // Version 2 of alice is first held by the log entry at 5: not in the tree of 5 entries.
    expectRefused(
      () => respondSearch(d.view(5), { last: null, label: utf8('alice'), version: 2 }),
      'kt_version_absent',
    );
    expect(search(d, null, 6, 'alice', 2).result.version).toBe(2);
  });

  it('refuses an erased version, and still answers the others and monitors it', () => {
    const d = deployment({ mode: 'contactMonitoring', epochs: EPOCHS.slice(0, 12), seed: 4 }, 'erasure');
    const before = search(d, null, 12, 'alice', 1);
    d.erase('alice', 1);
    d.erase('alice', 4);
    const label = utf8('alice');
    expectRefused(() => respondSearch(d.view(12), { last: null, label, version: 1 }), 'kt_version_erased');
    expectRefused(() => respondSearch(d.view(12), { last: null, label, version: null }), 'kt_version_erased');
    expect(search(d, null, 11, 'alice', null).result.version).toBe(3);
    for (const v of [0, 2, 3]) expect(search(d, null, 12, 'alice', v).result.version).toBe(v);
    const retained = retainedFrom(d, before.request, before.response);
    const entries = [{ position: before.result.terminal, version: 1 }];
    expect(monitor(d, before.result.state, retained, 12, 'alice', entries).result.state.treeHead.treeSize).toBe(12);
  });

  it("refuses a `last` past the tree, zero or fractional, and none where the operation needs the client's", () => {
    const view = contact().view(10);
    const label = utf8('alice');
    for (const last of [11, 0, 2.5, -1])
      expectRefused(() => respondSearch(view, { last, label, version: null }), 'kt_bad_last');
    expectRefused(() => respondOwnerInit(view, { last: 11, label, start: 7 }), 'kt_bad_last');
    expectRefused(() => respondContactMonitor(view, { last: null, label, entries: [] }), 'kt_bad_last');
    const owner = { label, entries: [], start: 7, greatestVersion: 3 };
    expectRefused(() => respondOwnerMonitor(view, { last: null, ...owner }), 'kt_bad_last');
    expectRefused(() => respondOwnerMonitor(view, { last: 12, ...owner }), 'kt_bad_last');
  });

  it('refuses a monitoring map or an owner state the tree does not bear out', () => {
    const view = contact().view(12);
    const label = utf8('alice');
    const maps: MonitorMapEntry[][] = [
      [
        { position: 5, version: 2 },
        { position: 3, version: 1 },
      ],
      [
        { position: 3, version: 1 },
        { position: 5, version: 1 },
      ],
      [{ position: 10, version: 3 }], // last is 10: not in the client's tree
      [{ position: 3, version: 2 }], // version 2 is first held at 5
      [{ position: 3, version: 9 }],
    ];
    for (const entries of maps)
      expectRefused(() => respondContactMonitor(view, { last: 10, label, entries }), 'kt_bad_request');
    for (const start of [12, 2, -1]) // past the tree; not distinguished; not a position
      expectRefused(() => respondOwnerInit(view, { last: null, label, start }), 'kt_bad_request');
    const start = startAt(contact(), 10)!;
    const owner = {
      last: 10,
      label,
      entries: [],
      start,
      greatestVersion: greatestAtPosition(contact(), 'alice', start),
    };
    expect(() => respondOwnerMonitor(view, owner)).not.toThrow();
    for (const wrong of [
      { entries: [{ position: 3, version: 1 }] },
      { greatestVersion: 0 },
      { greatestVersion: null },
      { start: 10 },
    ])
      expectRefused(() => respondOwnerMonitor(view, { ...owner, ...wrong }), 'kt_bad_request');
  });

  it('refuses a thirdPartyAuditing deployment, whose view carries no auditor tree head', () => {
    const view = withConfig(contact().view(4), { mode: 'thirdPartyAuditing' });
    expectRefused(
      () => respondSearch(view, { last: null, label: utf8('alice'), version: null }),
      'kt_unsupported_mode',
    );
  });
});

describe.each([['contactMonitoring'], ['thirdPartyManagement']] as const)(
  'KEYTRANS responders, tampered: %s',
  (mode) => {
    const d = () => (mode === 'contactMonitoring' ? contact() : managed());

    it('refuses search responses with a bit flipped', () => {
      const dep = d();
      const state = statesOf(dep)[9];
      for (const [label, version, holder, seed] of [
        ['alice', null, state, 1],
        ['bob', 2, null, 2],
      ] as const) {
        const request: SearchRequest = { last: holder?.treeHead.treeSize ?? null, label: utf8(label), version };
        const ctx = ctxOf(dep, version !== null);
        const bytes = encodeMessage('SearchResponse', respondSearch(dep.view(17), request), ctx);
        const verify = (r: SearchResponse) => verifySearch(dep.suite, dep.config, holder, request, r, dep.now(17));
        expectFlipsRefused('SearchResponse', bytes, ctx, verify, spread(bytes.length, 30, seed));
      }
    });

    it('refuses monitoring responses with any bit flipped', () => {
      const dep = d();
      const searched = search(dep, null, 6, 'alice', null);
      const retained = retainedFrom(dep, searched.request, searched.response);
      const entries = [{ position: searched.result.terminal, version: searched.result.version }];
      const { request } = monitor(dep, searched.result.state, retained, 14, 'alice', entries);
      const bytes = encodeMessage('ContactMonitorResponse', respondContactMonitor(dep.view(14), request), ctxOf(dep));
      const verifyContact = (r: Message<'ContactMonitorResponse'>) =>
        verifyContactMonitor(dep.suite, dep.config, searched.result.state, retained, request, r, dep.now(14));
      expectFlipsRefused('ContactMonitorResponse', bytes, ctxOf(dep), verifyContact, allBytes(bytes.length));

      const init = ownerInit(dep, statesOf(dep)[10], 12, 'bob', startAt(dep, 12)!);
      const { state, owner, retained: kept } = init.result;
      const monitored = ownerMonitor(dep, state, owner, kept, 20, 'bob');
      const ownerBytes = encodeMessage('OwnerMonitorResponse', monitored.response, ctxOf(dep));
      const verifyOwner = (r: Message<'OwnerMonitorResponse'>) =>
        verifyOwnerMonitor(dep.suite, dep.config, state, owner, kept, monitored.request, r, dep.now(20));
      expectFlipsRefused('OwnerMonitorResponse', ownerBytes, ctxOf(dep), verifyOwner, allBytes(ownerBytes.length));
    });

    it('refuses owner initialization responses with a bit flipped', () => {
      const dep = d();
      const state = statesOf(dep)[10];
      const { request, response } = ownerInit(dep, state, 16, 'alice', startAt(dep, 16)!);
      const bytes = encodeMessage('OwnerInitResponse', response, ctxOf(dep));
      const verify = (r: Message<'OwnerInitResponse'>) =>
        verifyOwnerInit(dep.suite, dep.config, state, request, r, dep.now(16));
      expectFlipsRefused('OwnerInitResponse', bytes, ctxOf(dep), verify, spread(bytes.length, 30, 4));
    });
  },
);
