/** The JSON form of proofs: round trips through JSON text still verify; strict decoding refuses extras. */
import { describe, expect, it } from 'vitest';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { proveDiscovery, proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import {
  discoveryFromJson,
  discoveryToJson,
  historyFromJson,
  historyToJson,
  lookupFromJson,
  lookupsToJsonBytes,
  lookupToJson,
  lookupToJsonBytes,
} from '../../../verifier/formats/proof-json.js';
import { fromUtf8 } from '../../../wasm-free-crypto/bytes.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from '../../helpers/directory.js';

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

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
    ];
    bad.forEach((b, i) => expect(() => lookupFromJson(b), `case ${i}`).toThrow());
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
