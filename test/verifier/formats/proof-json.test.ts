/**
 * The JSON form of proofs (docs/PROTOCOL.md sections 17.1 and 17.3): round trips through JSON text still verify;
 * every proof object carries format 1; strict decoding refuses extras and missing fields at every level, and a
 * format version it does not read as `unsupported_format`; stored proofs without a version read as format 1.
 */
import { describe, expect, it } from 'vitest';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { proveDiscovery, proveHistory, proveLookup, proveMonitorCheck } from '../../../log/directory/proof-builder.js';
import {
  discoveryFromJson,
  discoveryToJson,
  historyFromJson,
  historyToJson,
  lookupFromJson,
  lookupsToJsonBytes,
  lookupToJson,
  lookupToJsonBytes,
  monitorFromJson,
  monitorToJson,
  ProofJsonError,
} from '../../../verifier/formats/proof-json.js';
import { fromUtf8 } from '../../../wasm-free-crypto/bytes.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from '../../helpers/directory.js';

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));
const code = (f: () => unknown) => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return (e as ProofJsonError).code;
  }
};

describe('proof JSON', () => {
  it('round-trips lookups, histories and discoveries, which still verify', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await enrolProvider(t, 'talk.example', 'p256');
    for (let v = 1; v <= 2; v++)
      await publish(t, chat.sign(statementFor(chat, 'j@chat.example', v, [identityKey()], t.clock.now)));
    await publish(t, chat.sign({ ...statementFor(chat, 'j@chat.example', 3, [], t.clock.now), status: 'deleted' }));
    const present = lookupFromJson(roundTrip(lookupToJson(await proveLookup(t.dir, 'chat.example', 'j@chat.example'))));
    expect(t.verifier.verifyLookup(present, 'chat.example', 'j@chat.example').status).toBe('deleted');
    const absent = lookupFromJson(roundTrip(lookupToJson(await proveLookup(t.dir, 'talk.example', 'j@chat.example'))));
    expect(t.verifier.verifyLookup(absent, 'talk.example', 'j@chat.example').status).toBe('absent');
    const unknown = lookupFromJson(roundTrip(lookupToJson(await proveLookup(t.dir, 'typo.example', 'j@chat.example'))));
    expect(t.verifier.verifyLookup(unknown, 'typo.example', 'j@chat.example').status).toBe('not_enrolled');
    const h = historyFromJson(roundTrip(historyToJson(await proveHistory(t.dir, 'chat.example', 'j@chat.example', 0))));
    expect(t.verifier.verifyHistory(h, 'chat.example', 'j@chat.example', HISTORY_ZERO).statements).toHaveLength(3);
    const d = discoveryFromJson(roundTrip(discoveryToJson(await proveDiscovery(t.dir, 'j@chat.example'))));
    expect(t.verifier.verifyDiscovery(d, 'j@chat.example').size).toBe(2);
  });

  it('refuses unknown fields, missing fields, bad base64 and wrong lengths', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'k@chat.example', 1, [identityKey()], t.clock.now)));
    const json = roundTrip(lookupToJson(await proveLookup(t.dir, 'chat.example', 'k@chat.example')));
    const bad = [
      { ...json, extra: 1 },
      { ...json, epoch: { ...json.epoch, extra: 1 } },
      { ...json, present: { ...json.present, extra: 1 } },
      { ...json, vrfProof: json.vrfProof.slice(4) },
      { ...json, vrfProof: `${json.vrfProof} ` },
      { ...json, epoch: { ...json.epoch, headIndex: -1 } },
      { ...json, epoch: { ...json.epoch, headProof: json.epoch.headProof.slice(0, 8) } },
      { ...json, map: 'AA==' },
      (({ map, ...rest }) => rest)(json),
      (({ present, ...rest }) => rest)(json),
      { ...json, absent: { enrolment: json.present.enrolment } },
      { ...json, present: undefined, absent: { enrolment: json.present.enrolment, extra: 1 } },
      { ...json, present: undefined, notEnrolled: { credentials: 'AA==' } },
      { ...json, present: undefined, notEnrolled: { credentials: ['AA=='], extra: 1 } },
    ];
    bad.forEach((b, i) => expect(() => lookupFromJson(b), `case ${i}`).toThrow(ProofJsonError));
  });

  it('carries format 1 in every proof object, and refuses unknown versions and unknown fields at every level', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++)
      await publish(t, chat.sign(statementFor(chat, 'f@chat.example', v, [identityKey()], t.clock.now)));
    const monitor = roundTrip(monitorToJson(await proveMonitorCheck(t.dir, 'chat.example', 'f@chat.example', 1)));
    const discovery = roundTrip(discoveryToJson(await proveDiscovery(t.dir, 'f@chat.example')));
    const unchanged = roundTrip(monitorToJson(await proveMonitorCheck(t.dir, 'chat.example', 'f@chat.example', 3)));
    const absent = roundTrip(lookupToJson(await proveLookup(t.dir, 'chat.example', 'nobody@chat.example')));
    const unknown = roundTrip(lookupToJson(await proveLookup(t.dir, 'typo.example', 'f@chat.example')));
    expect([monitor.format, monitor.history.format, monitor.history.lookup.format, discovery.format]).toEqual([
      1, 1, 1, 1,
    ]);
    expect([discovery.lookups[0].format, unchanged.format, absent.format, unknown.format]).toEqual([1, 1, 1, 1]);
    // Each level that may carry a field, by path: a copy with `edit` applied at that object.
    const at = (root: unknown, path: string[], edit: (o: Record<string, any>) => void) => {
      const copy = roundTrip(root);
      edit(path.reduce((o, k) => o[k], copy));
      return copy;
    };
    type Parse = (v: unknown, opts?: { stored?: boolean }) => unknown;
    const levels: [string, Parse, unknown, string[]][] = [
      ['monitor', monitorFromJson, monitor, []],
      ['history', monitorFromJson, monitor, ['history']],
      ['version', monitorFromJson, monitor, ['history', 'versions', '0']],
      ['version enrolment', monitorFromJson, monitor, ['history', 'versions', '0', 'enrolment']],
      ['lookup', monitorFromJson, monitor, ['history', 'lookup']],
      ['epoch', monitorFromJson, monitor, ['history', 'lookup', 'epoch']],
      ['present', monitorFromJson, monitor, ['history', 'lookup', 'present']],
      ['unchanged', monitorFromJson, unchanged, ['unchanged']],
      ['discovery', discoveryFromJson, discovery, []],
      ['discovered lookup', discoveryFromJson, discovery, ['lookups', '0']],
      ['absent', lookupFromJson, absent, ['absent']],
      ['absent enrolment', lookupFromJson, absent, ['absent', 'enrolment']],
      ['notEnrolled', lookupFromJson, unknown, ['notEnrolled']],
    ];
    for (const [what, parse, root, path] of levels) {
      expect(() => parse(root), what).not.toThrow();
      const extra = at(root, path, (o) => (o.extra = 1));
      expect(
        code(() => parse(extra)),
        `unknown field in ${what}`,
      ).toBe('bad_proof_json');
    }
    const proofLevels = levels.filter(([what]) =>
      ['monitor', 'history', 'lookup', 'discovery', 'discovered lookup'].includes(what),
    );
    for (const [what, parse, root, path] of proofLevels) {
      for (const format of [2, 0, '1', null]) {
        const other = at(root, path, (o) => (o.format = format));
        expect(
          code(() => parse(other)),
          `format ${format} in ${what}`,
        ).toBe(format === 2 ? 'unsupported_format' : 'bad_proof_json');
      }
      // A newer format may add fields: its version is refused as such, before its fields are looked at.
      const newer = at(root, path, (o) => Object.assign(o, { format: 2, added: true }));
      expect(
        code(() => parse(newer)),
        `format 2 with a new field in ${what}`,
      ).toBe('unsupported_format');
      const missing = at(root, path, (o) => delete o.format);
      expect(
        code(() => parse(missing)),
        `no format in ${what}`,
      ).toBe('bad_proof_json');
      expect(() => parse(missing, { stored: true }), `stored, no format in ${what}`).not.toThrow();
    }
  });

  it('writes lookups as bytes equal to the UTF-8 of JSON.stringify, across epochs and for every shape', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const talk = await enrolProvider(t, 'talk.example', 'p256');
    const text = (p: Parameters<typeof lookupToJson>[0]) => JSON.stringify(lookupToJson(p));
    const seen: Parameters<typeof lookupToJson>[0][] = [];
    for (let v = 1; v <= 3; v++) {
      await publish(t, chat.sign(statementFor(chat, 'j@chat.example', v, [identityKey()], t.clock.now)));
      await publish(t, talk.sign(statementFor(talk, `+4479460${v}0000`, 1, [identityKey()], t.clock.now)));
      // Present (both credentials, so both cached enrolment proofs), absent, then again from the caches.
      for (const [p, a] of [
        ['chat.example', 'j@chat.example'],
        ['talk.example', `+4479460${v}0000`],
        ['talk.example', 'nobody@chat.example'],
        ['typo.example', 'nobody@chat.example'],
        ['chat.example', 'j@chat.example'],
      ]) {
        const proof = await proveLookup(t.dir, p, a);
        seen.push(proof);
        expect(fromUtf8(lookupToJsonBytes(proof)), `${p} ${a} v${v}`).toBe(text(proof));
      }
    }
    const base = seen[0];
    const odd = [
      { ...base, provider: 'quote"back\\slash', account: 'tab\tnewline\n\u0001 del\u007f ünïcödé 😀 \ud800' },
      {
        ...base,
        present: { version: 7, commitment: new Uint8Array(32).fill(9), previousHistory: new Uint8Array(32).fill(4) },
      },
    ];
    for (const p of odd) expect(fromUtf8(lookupToJsonBytes(p))).toBe(text(p));
    expect(fromUtf8(lookupsToJsonBytes(seen))).toBe(JSON.stringify({ lookups: seen.map(lookupToJson) }));
    expect(fromUtf8(lookupsToJsonBytes([]))).toBe('{"lookups":[]}');
  });
});
