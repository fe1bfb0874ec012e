/**
 * KEYTRANS contact monitoring (verifier/keytrans/monitor.ts) against the scenarios: every contact monitoring query
 * is verified from the client state before it; each is accepted, leaves the oracle's state and the map it still
 * monitors, and every tampered response is refused. Then a response whose ladder shows a version missing, and a
 * request whose map is out of order, refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, type MessageContext } from '../../../verifier/keytrans/messages.js';
import { verifyContactMonitor, type RetainedVersion } from '../../../verifier/keytrans/monitor.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { fromHex } from '../../../wasm-free-crypto/bytes.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

/** katie's retained versions of a label, as the client keeps them. */
function retainedOf(label: any): Map<number, RetainedVersion> {
  return new Map(
    (label?.retained_versions ?? []).map((r: any) => [
      r.version,
      { vrfOutput: fromHex(r.vrf_output), commitment: r.commitment ? fromHex(r.commitment) : null },
    ]),
  );
}

function monitoringsOf(name: string) {
  const scenario = vectorJson(`keytrans/scenarios/${name}.json`);
  const config = configOf(scenario.config.fields);
  const ctx: MessageContext = { suite: config.ciphersuite, mode: config.mode };
  return scenario.queries
    .filter((q: any) => q.operation === 'contact_monitor')
    .map((q: any) => {
      const request = decodeMessage('ContactMonitorRequest', fromHex(q.request.encoding), ctx);
      const verify = (hex: string, now = q.now_ms) =>
        verifyContactMonitor(
          cipherSuite(config.ciphersuite),
          config,
          globalStateOf(q.client_state_before.global)!,
          retainedOf(q.client_state_before.label),
          request,
          decodeMessage('ContactMonitorResponse', fromHex(hex), ctx),
          now,
        );
      return { q, request, verify };
    });
}

describe('KEYTRANS contact monitoring, against the scenarios', () => {
  it('accepts each monitoring as the oracle, with its state and remaining map, and refuses every tampered one', () => {
    const queries = monitoringsOf('main');
    expect(queries.map(({ q }: any) => q.id)).toEqual(['main/q08', 'main/q16', 'main/q17']);
    for (const { q, verify } of queries) {
      expect(q.expected.outcome).toBe('accept');
      const result = verify(q.response.encoding);
      const after = q.client_state_after;
      expect(result.contact, q.id).toEqual(after.label?.contact ?? []);
      expect(result.state, q.id).toEqual(globalStateOf(after.global));
      for (const t of q.tampered ?? [])
        expect(() => verify(t.response_hex, t.now_ms ?? q.now_ms), `${q.id} tampered ${t.tamper}`).toThrow();
    }
  });

  it('refuses a ladder when the client lacks a version of it, and a map out of order', () => {
    const { q, request, verify } = monitoringsOf('main').find(({ q }: any) => q.id === 'main/q16')!;
    const config = configOf(vectorJson('keytrans/scenarios/main.json').config.fields);
    const response = decodeMessage('ContactMonitorResponse', fromHex(q.response.encoding), {
      suite: config.ciphersuite,
      mode: config.mode,
    });
    const suite = cipherSuite(config.ciphersuite);
    const state = globalStateOf(q.client_state_before.global)!;
    const retained = retainedOf(q.client_state_before.label);
    retained.delete(1);
    expect(() => verifyContactMonitor(suite, config, state, retained, request, response, q.now_ms)).toThrow(
      /version 1 of the label was not retained/,
    );
    const reversed = { ...request, entries: [...request.entries].reverse() };
    expect(() =>
      verifyContactMonitor(suite, config, state, retainedOf(q.client_state_before.label), reversed, response, q.now_ms),
    ).toThrow(/ascending order/);
    expect(verify(q.response.encoding).contact).toEqual([]);
  });
});
