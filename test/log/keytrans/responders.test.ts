/**
 * The KEYTRANS responders (log/keytrans/: search, contact monitoring, owner initialization and monitoring) against
 * the client that checks them (verifier/keytrans/), over deployments built in memory from scripts of epochs
 * (test/helpers/memory-deployment.ts), in contactMonitoring and thirdPartyManagement modes: every response, sent
 * through its TLS encoding, is accepted by the client, for greatest-version and fixed-version searches of several
 * labels with several versions at every tree size, for new clients and for clients holding the state of an earlier
 * size or of the same one; a client's monitoring map and an owner's state carried across new epochs; a deployment
 * with a maximum lifetime, where the only searches refused are those the client would refuse as expired; the
 * refusals with their codes; and responses with a bit flipped, which the client refuses.
 */
import { describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../../log/keytrans/deployment-view.js';
import { ResponderError, type ResponderErrorCode } from '../../../log/keytrans/errors.js';
import { respondContactMonitor } from '../../../log/keytrans/monitor-responder.js';
import { respondOwnerInit, respondOwnerMonitor } from '../../../log/keytrans/owner-responder.js';
import { respondSearch } from '../../../log/keytrans/search-responder.js';
import { binaryLadder } from '../../../verifier/keytrans/binary-ladder.js';
import { computeCommitment } from '../../../verifier/keytrans/commitment.js';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageContext,
  type MessageType,
} from '../../../verifier/keytrans/messages.js';
import { type RetainedVersion, verifyContactMonitor } from '../../../verifier/keytrans/monitor.js';
import { type OwnerState, verifyOwnerInit, verifyOwnerMonitor } from '../../../verifier/keytrans/owner.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import type {
  ContactMonitorRequest,
  MonitorMapEntry,
  OwnerInitRequest,
  OwnerMonitorRequest,
  SearchRequest,
  SearchResponse,
} from '../../../verifier/keytrans/types.js';
import { isDistinguished, rightmostDistinguished } from '../../../verifier/keytrans/view.js';
import { fromUtf8, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { type DeploymentScript, MemoryDeployment } from '../../helpers/memory-deployment.js';

/** Twenty epochs: alice gets 7 versions, bob 5, carol 4; some epochs only advance the tree. */
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
  [],
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

const ctxOf = (d: MemoryDeployment, requestHasVersion?: boolean): MessageContext => ({
  suite: d.config.ciphersuite,
  mode: d.config.mode,
  requestHasVersion,
});

/** The message as the client receives it: encoded by the log, decoded by the client. */
function wire<K extends MessageType>(type: K, value: Message<K>, ctx: MessageContext): Message<K> {
  return decodeMessage(type, encodeMessage(type, value, ctx), ctx);
}

/** The greatest version of `label` the deployment holds at `size`, null for none. */
function greatestAt(d: MemoryDeployment, label: string, size: number): number | null {
  const n = d.view(size).versions(utf8(label)).length;
  return n === 0 ? null : n - 1;
}

/** A search sent by a client holding `state`, answered at `size` and verified; returns the client's result. */
function search(d: MemoryDeployment, state: GlobalState | null, size: number, label: string, version: number | null) {
  const request: SearchRequest = { last: state?.treeHead.treeSize ?? null, label: utf8(label), version };
  const response = wire('SearchResponse', respondSearch(d.view(size), request), ctxOf(d, version !== null));
  const result = verifySearch(d.suite, d.config, state, request, response, d.now(size));
  return { request, response, result };
}

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

/** A new client's state at every size, from a greatest-version search for alice (held from the first entry). */
function statesOf(d: MemoryDeployment): GlobalState[] {
  const states: GlobalState[] = [];
  for (let n = 1; n <= d.size; n++) states[n] = search(d, null, n, 'alice', null).result.state;
  return states;
}

/** The keys a client retains from a search response for monitoring: each ladder version's output and commitment. */
function retainedFrom(
  d: MemoryDeployment,
  request: SearchRequest,
  response: SearchResponse,
  into = new Map<number, RetainedVersion>(),
) {
  const target = request.version ?? response.version!;
  binaryLadder(target).forEach((v, i) => {
    const step = response.binaryLadder[i];
    const vrfOutput = d.suite.vrfVerify(
      d.config.vrfPublicKey,
      encodeVrfInput({ label: request.label, version: v }),
      step.proof,
    );
    const opening = { opening: response.opening, label: request.label, version: v, update: response.value };
    const commitment = v === target ? computeCommitment(d.suite, opening) : step.commitment;
    if (!into.get(v)?.commitment) into.set(v, { vrfOutput, commitment });
  });
  return into;
}

/** A contact monitoring of `label` sent by a client holding `state` and `entries`, answered at `size`, verified. */
function monitor(
  d: MemoryDeployment,
  state: GlobalState,
  retained: Map<number, RetainedVersion>,
  size: number,
  label: string,
  entries: MonitorMapEntry[],
) {
  const request: ContactMonitorRequest = { last: state.treeHead.treeSize, label: utf8(label), entries };
  const response = wire('ContactMonitorResponse', respondContactMonitor(d.view(size), request), ctxOf(d));
  const result = verifyContactMonitor(d.suite, d.config, state, retained, request, response, d.now(size));
  return { request, response, result };
}

/** An owner initialization from `start`, sent by a client holding `state`, answered at `size`, verified. */
function ownerInit(d: MemoryDeployment, state: GlobalState | null, size: number, label: string, start: number) {
  const request: OwnerInitRequest = { last: state?.treeHead.treeSize ?? null, label: utf8(label), start };
  const response = wire('OwnerInitResponse', respondOwnerInit(d.view(size), request), ctxOf(d));
  const result = verifyOwnerInit(d.suite, d.config, state, request, response, d.now(size));
  return { request, response, result };
}

/** An owner monitoring by an owner holding `state`, `owner` and `retained`, answered at `size`, verified. */
function ownerMonitor(
  d: MemoryDeployment,
  state: GlobalState,
  owner: OwnerState,
  retained: Map<number, RetainedVersion>,
  size: number,
  label: string,
) {
  const request: OwnerMonitorRequest = {
    last: state.treeHead.treeSize,
    label: utf8(label),
    entries: [],
    start: owner.starting,
    greatestVersion: owner.versionAtStarting,
  };
  const response = wire('OwnerMonitorResponse', respondOwnerMonitor(d.view(size), request), ctxOf(d));
  const result = verifyOwnerMonitor(d.suite, d.config, state, owner, retained, request, response, d.now(size));
  return { request, response, result };
}

/** The rightmost distinguished log entry at `size`, as the client computes it. */
const startAt = (d: MemoryDeployment, size: number) =>
  rightmostDistinguished(size, (p) => d.timestamp(p), d.config.reasonableMonitoringWindow);

/** A monitoring map the client may hold: ascending positions, and versions ascending with them. */
function mapOf(entries: MonitorMapEntry[]): MonitorMapEntry[] {
  const kept: MonitorMapEntry[] = [];
  for (const e of [...entries].sort((a, b) => b.position - a.position))
    if (kept.length === 0 || (e.position < kept[0].position && e.version < kept[0].version)) kept.unshift(e);
  return kept;
}

describe.each([['contactMonitoring'], ['thirdPartyManagement']] as const)('KEYTRANS responders, %s', (mode) => {
  const d = () => (mode === 'contactMonitoring' ? contact() : managed());
  /** Every size in contactMonitoring mode; every other one in thirdPartyManagement, to keep the run short. */
  const sizes = (dep: MemoryDeployment) =>
    Array.from({ length: dep.size }, (_, i) => i + 1).filter((n) => mode === 'contactMonitoring' || n % 2 === 1);

  it('answers greatest-version searches at every size, to new clients and to clients of earlier sizes', () => {
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

  it('answers fixed-version searches of every version at every size, to new clients and to earlier ones', () => {
    const dep = d();
    const states = statesOf(dep);
    let searches = 0;
    for (const n of sizes(dep))
      for (const label of LABELS)
        for (let v = 0; v <= (greatestAt(dep, label, n) ?? -1); v++) {
          const state = (n + v) % 2 === 0 ? null : states[Math.max(1, n - 1 - (v % 3))];
          const { result } = search(dep, state, n, label, v);
          expect([result.version, fromUtf8(result.value.value)]).toEqual([v, `value ${v} of ${hex(label)}`]);
          searches++;
        }
    expect(searches).toBeGreaterThan(50);
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
      for (const [i, label] of [...LABELS, 'nobody'].entries())
        for (const start of label === 'alice' ? starts : starts.slice(-1)) {
          const { result } = ownerInit(dep, (n + i) % 2 === 0 ? null : states[Math.max(1, n - 2)], n, label, start);
          expect(result.owner).toEqual({ starting: start, versionAtStarting: greatestAtPosition(dep, label, start) });
        }
    }
    let [moved, reinits] = [0, 0];
    for (const label of LABELS) {
      let { state, owner, retained } = ownerInit(dep, null, 4, label, startAt(dep, 4)!).result;
      for (let n = 5; n <= dep.size; n++) {
        const monitored = ownerMonitor(dep, state, owner, retained, n, label).result;
        if (monitored.owner.starting > owner.starting) moved++;
        ({ state, owner, retained } = monitored);
        if (greatestAt(dep, label, n) !== owner.versionAtStarting) {
          ({ state, owner, retained } = ownerInit(dep, state, n, label, startAt(dep, n)!).result);
          reinits++;
        }
      }
    }
    expect([moved > 0, reinits > 0]).toEqual([true, true]);
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
