/**
 * The binary lookup proof (verifier/formats/proof-binary.ts, docs/PROTOCOL.md section 17.4), from a real
 * directory: present, deleted with erased versions, absent and not enrolled lookups decode to exactly the
 * proofs they encode and to what their JSON gives; the route answers it to clients that ask for it (and JSON
 * otherwise, with `Vary: Accept`); the lookup client asks for it and verifies it; every byte flipped, every
 * truncation and a trailing byte is refused by the decoder or the verifier; an unknown format is
 * `unsupported_format`.
 */
import { describe, expect, it } from 'vitest';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { decodeLookupBinary, encodeLookupBinary, LOOKUP_BINARY_TYPE } from '../../../verifier/formats/proof-binary.js';
import { lookupFromJson, lookupToJson } from '../../../verifier/formats/proof-json.js';
import { LookupClient } from '../../../verifier/lookup-client/lookup-client.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  publish,
  statementFor,
} from '../../helpers/directory.js';
import { errorCode } from '../../helpers/error-code.js';
import { ORIGIN } from '../../helpers/log.js';
import { LOOKUP_CASES, lookupCasesDirectory } from '../../helpers/lookup-cases.js';

describe('the binary lookup proof', () => {
  it('decodes to the proof it encodes, and to what the JSON gives, in every case', async () => {
    const t = await lookupCasesDirectory();
    for (const [provider, account, status] of LOOKUP_CASES) {
      const proof = await proveLookup(t.dir, provider, account);
      const binary = encodeLookupBinary(proof);
      const decoded = decodeLookupBinary(binary);
      expect(decoded).toEqual(proof);
      expect(decoded).toEqual(lookupFromJson(JSON.parse(JSON.stringify(lookupToJson(proof)))));
      expect(t.verifier.verifyLookup(decoded, provider, account).status).toBe(status);
      expect(binary.length).toBeLessThan(0.75 * JSON.stringify(lookupToJson(proof)).length);
    }
  });

  it("encodes an epoch's shared parts once, and anew for a new checkpoint or a new epoch", async () => {
    const t = await lookupCasesDirectory();
    const proof = await proveLookup(t.dir, 'chat.example', 'ann@example.org');
    const first = encodeLookupBinary(proof);
    expect(encodeLookupBinary(proof)).toEqual(first); // from the cached parts
    expect(decodeLookupBinary(encodeLookupBinary(proof))).toEqual(proof);
    // The same epoch head, served with another checkpoint (a cosigned one replaces the plain one).
    const cosigned = { ...proof, epoch: { ...proof.epoch, checkpoint: `${proof.epoch.checkpoint}— w.example AAAA\n` } };
    expect(decodeLookupBinary(encodeLookupBinary(cosigned)).epoch.checkpoint).toBe(cosigned.epoch.checkpoint);
    expect(decodeLookupBinary(encodeLookupBinary(proof))).toEqual(proof);
    // A later epoch: its own parts, and the earlier proof still encodes as before.
    const chat = await enrolProvider(t, 'more.example');
    await publish(t, chat.sign(statementFor(chat, 'bo@example.org', 1, [identityKey()], t.clock.now)));
    const later = await proveLookup(t.dir, 'chat.example', 'ann@example.org');
    expect(later.epoch.headIndex).toBeGreaterThan(proof.epoch.headIndex);
    expect(decodeLookupBinary(encodeLookupBinary(later))).toEqual(later);
    expect(encodeLookupBinary(proof)).toEqual(first);
  });

  it('is answered to clients that ask for it, JSON otherwise, and the lookup client uses it', async () => {
    const t = await lookupCasesDirectory();
    const app = appOver(t);
    const path = '/v1/lookup/chat.example/ann@example.org';
    const binary = await app.request(path, { headers: { Accept: `${LOOKUP_BINARY_TYPE}, application/json;q=0.9` } });
    expect([binary.status, binary.headers.get('content-type'), binary.headers.get('vary')]).toEqual([
      200,
      LOOKUP_BINARY_TYPE,
      'Accept',
    ]);
    const fromBinary = decodeLookupBinary(new Uint8Array(await binary.arrayBuffer()));
    const json = await app.request(path);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.headers.get('vary')).toBe('Accept');
    expect(lookupFromJson(await json.json())).toEqual(fromBinary);
    for (const accept of ['*/*', `application/json, ${LOOKUP_BINARY_TYPE};q=0.5`, `${LOOKUP_BINARY_TYPE};q=0`])
      expect((await app.request(path, { headers: { Accept: accept } })).headers.get('content-type')).toMatch(
        /^application\/json/,
      );
    const types: string[] = [];
    const client = new LookupClient({
      baseUrl: 'http://kt.test',
      pins: { origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey), vrfKey: t.dir.vrfPublicKey },
      fetch: async (url, init) => {
        const res = await app.request(url, init);
        types.push(res.headers.get('content-type') ?? '');
        return res;
      },
    });
    expect((await client.lookup('chat.example', 'ann@example.org')).status).toBe('present');
    expect(types).toEqual([LOOKUP_BINARY_TYPE]);
    expect(client.lastProofJson).toEqual(lookupToJson(fromBinary)); // evidence stays JSON
  });

  it('refuses every flipped byte, every truncation and a trailing byte', async () => {
    const t = await lookupCasesDirectory();
    for (const [provider, account, status] of LOOKUP_CASES) {
      const binary = encodeLookupBinary(await proveLookup(t.dir, provider, account));
      const refused = (b: Uint8Array) => {
        try {
          t.verifier.verifyLookup(decodeLookupBinary(b), provider, account);
          return false;
        } catch {
          return true;
        }
      };
      // Every byte of a present lookup; a sample of the others' (each check runs the VRF).
      const step = status === 'present' ? 1 : provider === 'talk.example' ? 11 : 3;
      for (let i = 0; i < binary.length; i += step) {
        const flipped = binary.slice();
        flipped[i] ^= 0x01;
        expect(refused(flipped), `byte ${i} of ${account} at ${provider}`).toBe(true);
      }
      for (let n = 0; n < binary.length; n += 5)
        expect(errorCode(() => decodeLookupBinary(binary.subarray(0, n)))).toBe('bad_proof_binary');
      expect(errorCode(() => decodeLookupBinary(Uint8Array.of(...binary, 0)))).toBe('bad_proof_binary');
      expect(errorCode(() => decodeLookupBinary(Uint8Array.of(2, ...binary.subarray(1))))).toBe('unsupported_format');
      expect(errorCode(() => decodeLookupBinary(Uint8Array.of(1, 3, ...binary.subarray(2))))).toBe('bad_proof_binary');
    }
  });
});
