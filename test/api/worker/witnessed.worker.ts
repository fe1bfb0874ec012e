/**
 * Witnessing in the Worker, inside workerd: the Durable Object sends each epoch's checkpoint to the
 * witness named in WITNESSES (a real C2SP witness in Node, test/fixtures/worker-witness.ts) and serves it,
 * in /log/checkpoint and in lookup proofs, with the witness's cosignature, which a client requiring that
 * witness accepts; /v1/config names the witness and the quorum.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';

const f = env.KT_WITNESSED;
const get = (path: string) => exports.default.fetch(new Request(`https://kt.example${path}`));

describe('the Worker with a witness', () => {
  it('serves each epoch with the witness cosignature a client requires', async () => {
    const config = (await (await get('/v1/config')).json()) as {
      logKey: string;
      vrfKey: string;
      witnesses: string[];
      witnessQuorum: number;
    };
    expect(config).toMatchObject({ witnesses: [f.witnessKey], witnessQuorum: 1 });
    const witnessKey = parseCosignerKey(f.witnessKey);
    const cosigned = async () => {
      const note = await (await get('/log/checkpoint')).text();
      const opened = openCheckpoint(note, f.origin, parseVerifierKey(config.logKey), [witnessKey]);
      return { size: opened.checkpoint.size, by: opened.cosignatures.map((c) => c.name) };
    };
    const first = await cosigned(); // epoch 0, cosigned when the directory opened
    expect(first.by).toEqual(['witness.example/worker-test']);
    // Heartbeats every 10 ms: the alarm closes an epoch, which the witness cosigns after a consistency proof.
    await new Promise((r) => setTimeout(r, 20));
    await runDurableObjectAlarm(env.LOG.get(env.LOG.idFromName('log')));
    const later = await cosigned();
    expect(later.size).toBeGreaterThan(first.size);
    expect(later.by).toEqual(['witness.example/worker-test']);
    const v = new LookupVerifier({
      origin: f.origin,
      logKey: parseVerifierKey(config.logKey),
      vrfKey: fromBase64(config.vrfKey),
      policy: { witnesses: [witnessKey], quorum: 1, maxAgeSeconds: 600 },
    });
    // No provider is enrolled here: the lookup proves that, under the cosigned checkpoint.
    const proof = lookupFromJson(await (await get('/v1/lookup/chat.example/nobody%40chat.example')).json());
    expect(v.verifyLookup(proof, 'chat.example', 'nobody@chat.example').status).toBe('not_enrolled');
  });
});
