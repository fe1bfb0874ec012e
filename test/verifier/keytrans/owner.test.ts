/**
 * The label owner's KEYTRANS operations (verifier/keytrans/owner.ts) against the main scenario: each owner
 * initialization and owner monitoring is verified from the client state before it, accepted with the oracle's
 * greatest versions, state, owner state and retained versions, and every tampered response is refused. An owner's
 * monitoring whose request advertises another greatest version than the owner holds, or whose ladders show a greater
 * version than the owner holds (a version it did not make), is refused with 'kt_greatest_version'; so is one where
 * the log stops before a distinguished log entry with no ladder given (main/q21: alice's version 5, made at log
 * entry 14, is the greatest at the distinguished log entry 15), which the oracle accepts as a response.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, type MessageContext } from '../../../verifier/keytrans/messages.js';
import { KeyTransError } from '../../../verifier/keytrans/errors.js';
import type { RetainedVersion } from '../../../verifier/keytrans/monitor.js';
import {
  checkMadeVersions,
  checkOwnerProgress,
  verifyOwnerInit,
  verifyOwnerMonitor,
} from '../../../verifier/keytrans/owner.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

const scenario = vectorJson('keytrans/scenarios/main.json');
const config = configOf(scenario.config.fields);
const suite = cipherSuite(config.ciphersuite);
const ctx: MessageContext = { suite: config.ciphersuite, mode: config.mode };
const queries = (op: string) => scenario.queries.filter((q: any) => q.operation === op);

const retainedOf = (label: any): Map<number, RetainedVersion> =>
  new Map(
    (label?.retained_versions ?? []).map((r: any) => [
      r.version,
      { vrfOutput: fromHex(r.vrf_output), commitment: r.commitment ? fromHex(r.commitment) : null },
    ]),
  );
const retainedHex = (m: Map<number, RetainedVersion>) =>
  [...m].sort(([a], [b]) => a - b).map(([v, r]) => [v, toHex(r.vrfOutput), r.commitment && toHex(r.commitment)]);
const ownerOf = (label: any) => ({ starting: label.owner.starting, versionAtStarting: label.owner.ver_at_starting });

/** An owner_monitor query of the scenario, decoded: the owner's state before it, the request and the response. */
const monitorQuery = (q: any) => {
  const before = q.client_state_before;
  return {
    owner: ownerOf(before.label),
    retained: retainedOf(before.label),
    state: globalStateOf(before.global)!,
    request: decodeMessage('OwnerMonitorRequest', fromHex(q.request.encoding), ctx),
    response: decodeMessage('OwnerMonitorResponse', fromHex(q.response.encoding), ctx),
  };
};

/** The KeyTransError code `f` throws, 'accepted' if it returns (another error: its text). */
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof KeyTransError ? e.code : String(e);
  }
  return 'accepted';
};

describe('KEYTRANS owner operations, against the main scenario', () => {
  it('initializes as the oracle, and refuses every tampered initialization', () => {
    expect(queries('owner_init').map((q: any) => q.id)).toEqual(['main/q10', 'main/q23']);
    for (const q of queries('owner_init')) {
      const request = decodeMessage('OwnerInitRequest', fromHex(q.request.encoding), ctx);
      const verify = (hex: string, now = q.now_ms) =>
        verifyOwnerInit(
          suite,
          config,
          globalStateOf(q.client_state_before.global),
          request,
          decodeMessage('OwnerInitResponse', fromHex(hex), ctx),
          now,
        );
      const result = verify(q.response.encoding);
      const after = q.client_state_after;
      expect(result.state, q.id).toEqual(globalStateOf(after.global));
      expect(result.owner, q.id).toEqual(ownerOf(after.label));
      expect(retainedHex(result.retained), q.id).toEqual(retainedHex(retainedOf(after.label)));
      for (const t of q.tampered ?? [])
        expect(() => verify(t.response_hex, t.now_ms ?? q.now_ms), `${q.id} tampered ${t.tamper}`).toThrow();
    }
  });

  it('monitors as the oracle, moving the start, and refuses every tampered monitoring', () => {
    expect(queries('owner_monitor').map((q: any) => q.id)).toEqual(['main/q12', 'main/q15', 'main/q21']);
    for (const q of queries('owner_monitor')) {
      const before = q.client_state_before;
      const request = decodeMessage('OwnerMonitorRequest', fromHex(q.request.encoding), ctx);
      const verify = (hex: string, now = q.now_ms) =>
        verifyOwnerMonitor(
          suite,
          config,
          globalStateOf(before.global)!,
          ownerOf(before.label),
          retainedOf(before.label),
          request,
          decodeMessage('OwnerMonitorResponse', fromHex(hex), ctx),
          now,
        );
      const result = verify(q.response.encoding);
      expect(result.state, q.id).toEqual(globalStateOf(q.client_state_after.global));
      expect(result.owner, q.id).toEqual(ownerOf(q.client_state_after.label));
      for (const t of q.tampered ?? [])
        expect(() => verify(t.response_hex, t.now_ms ?? q.now_ms), `${q.id} tampered ${t.tamper}`).toThrow();
    }
  });

  it("refuses a greatest version that the owner's state or the response's ladders do not bear out", () => {
    for (const q of queries('owner_monitor')) {
      const { owner, retained, state, request, response } = monitorQuery(q);
      const verify = (o: typeof owner, greatestVersion: number | null) => () =>
        verifyOwnerMonitor(suite, config, state, o, retained, { ...request, greatestVersion }, response, q.now_ms);
      // The owner's own version, advertised and checked: the oracle's result, recomputed from its state.
      expect(request.greatestVersion, q.id).toBe(owner.versionAtStarting);
      expect(verify(owner, owner.versionAtStarting)().owner, q.id).toEqual(ownerOf(q.client_state_after.label));
      for (const other of [owner.versionAtStarting - 1, owner.versionAtStarting + 1, null])
        expect(codeOf(verify(owner, other)), `${q.id}: advertising ${other}`).toBe('kt_greatest_version');
      // An owner holding an older version, or none: the log's ladders show a greater one, a version it did not make.
      const verified = verify(owner, owner.versionAtStarting)().owner.starting > owner.starting;
      for (const older of [owner.versionAtStarting - 1, null]) {
        const code = codeOf(verify({ ...owner, versionAtStarting: older }, older));
        expect(code, `${q.id}: holding ${older}`).toBe(verified ? 'kt_greatest_version' : 'accepted');
      }
    }
  });

  it("says where the log stopped, and raises the owner's alert for a stop that verified nothing", () => {
    /** The label's greatest version at log entry `x`, from the scenario's steps. */
    const greatestAt = (label: string, x: number) =>
      Math.max(
        -1,
        ...scenario.steps
          .slice(0, x + 1)
          .flatMap((s: any) => s.added.filter((a: any) => a.label === label).map((a: any) => a.version)),
      );
    // alice's version 5, made at log entry 14: q15 verifies 13 and stops at 14; q21, from 13, stops there at once.
    const stops: Record<string, number | null> = { 'main/q12': null, 'main/q15': 14, 'main/q21': 14 };
    for (const q of queries('owner_monitor')) {
      const { owner, retained, state, request, response } = monitorQuery(q);
      const result = verifyOwnerMonitor(suite, config, state, owner, retained, request, response, q.now_ms);
      expect(result.stoppedAt, q.id).toBe(stops[q.id]);
      if (result.stoppedAt === null) {
        expect(checkOwnerProgress(owner, result), q.id).toBe(true);
        continue;
      }
      const label = new TextDecoder().decode(request.label);
      expect(greatestAt(label, result.stoppedAt), q.id).toBeGreaterThan(owner.versionAtStarting);
      if (result.owner.starting > owner.starting) {
        expect(checkOwnerProgress(owner, result), `${q.id}: asked again`).toBe(false);
        continue;
      }
      expect(() => checkOwnerProgress(owner, result), q.id).toThrow(
        expect.objectContaining({ name: 'KeyTransError', code: 'kt_greatest_version' }),
      );
    }
  });
});

describe('the versions an owner says it made (checkMadeVersions)', () => {
  const alert = (held: number | null, greatest: number | null, made: number[]) =>
    codeOf(() => checkMadeVersions(held, greatest, made));

  it('accepts exactly the versions after the one held, all made', () => {
    expect(alert(1, 2, [2])).toBe('accepted');
    expect(alert(1, 3, [2, 3])).toBe('accepted');
    expect(alert(null, 0, [0])).toBe('accepted');
    expect(alert(null, null, [])).toBe('accepted');
    expect(alert(2, 2, [])).toBe('accepted'); // nothing new
  });

  it('raises the alert for any version after the one held that the owner did not make', () => {
    expect(alert(1, 2, [])).toBe('kt_greatest_version');
    expect(alert(1, 3, [3])).toBe('kt_greatest_version'); // 2 was not made
    expect(alert(1, 3, [2])).toBe('kt_greatest_version'); // 3 was not made
    expect(alert(null, 1, [1])).toBe('kt_greatest_version'); // 0 was not made
    expect(alert(3, 1, [1, 2, 3])).toBe('kt_greatest_version'); // below the version held
  });
});
