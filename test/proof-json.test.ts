/** The JSON form of proofs: round trips through JSON text still verify; strict decoding refuses extras. */
import { describe, expect, it } from 'vitest';
import { HISTORY_ZERO } from '../log/directory-hashes.js';
import { discover, history, lookup } from '../log/lookup.js';
import { discoveryFromJson, discoveryToJson, historyFromJson, historyToJson, lookupFromJson, lookupToJson } from '../log/proof-json.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from './directory-helpers.js';

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('proof JSON', () => {
  it('round-trips lookups, histories and discoveries, which still verify', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await enrolProvider(t, 'talk.example', 'p256');
    for (let v = 1; v <= 2; v++) await publish(t, chat.sign(statementFor(chat, 'j@chat.example', v, [identityKey()], t.clock.now)));
    await publish(t, chat.sign({ ...statementFor(chat, 'j@chat.example', 3, [], t.clock.now), status: 'deleted' }));
    const present = lookupFromJson(roundTrip(lookupToJson(await lookup(t.dir, 'chat.example', 'j@chat.example'))));
    expect(t.verifier.verifyLookup(present, 'chat.example', 'j@chat.example').status).toBe('deleted');
    const absent = lookupFromJson(roundTrip(lookupToJson(await lookup(t.dir, 'talk.example', 'j@chat.example'))));
    expect(t.verifier.verifyLookup(absent, 'talk.example', 'j@chat.example').status).toBe('absent');
    const h = historyFromJson(roundTrip(historyToJson(await history(t.dir, 'chat.example', 'j@chat.example', 0))));
    expect(t.verifier.verifyHistory(h, 'chat.example', 'j@chat.example', HISTORY_ZERO).statements).toHaveLength(3);
    const d = discoveryFromJson(roundTrip(discoveryToJson(await discover(t.dir, 'j@chat.example'))));
    expect(t.verifier.verifyDiscovery(d, 'j@chat.example').size).toBe(2);
  });

  it('refuses unknown fields, missing fields, bad base64 and wrong lengths', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'k@chat.example', 1, [identityKey()], t.clock.now)));
    const json = roundTrip(lookupToJson(await lookup(t.dir, 'chat.example', 'k@chat.example')));
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
});
