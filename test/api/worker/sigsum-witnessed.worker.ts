/**
 * The Worker cosigned by sigsum's witness, inside workerd: the log's origin follows sigsum's convention from its
 * key, and sigsum-go's `sigsum-witness` (started in Node by test/fixtures/worker-sigsum-witness.ts) is the one
 * witness in WITNESSES (quorum 1). Each epoch's checkpoint is served with its cosignature, which a client
 * requiring that witness accepts; the same checkpoint without it, or with it altered, is refused. While the
 * witness is down the Worker says so (`/healthz`, its metrics) and its checkpoints miss the client's quorum;
 * restarted on its state file, the witness cosigns again.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { addCheckpointBody } from '../../../verifier/formats/add-checkpoint.js';

const f = env.KT_SIGSUM;
const get = (path: string) => exports.default.fetch(new Request(`https://kt.example${path}`));

describe.runIf(f.available)("the Worker cosigned by sigsum's witness", () => {
  it('serves each epoch with the cosignature of sigsum-witness, which a client requires', async () => {
    const config = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
    expect(config.origin).toBe(f.origin);
    const witness = parseCosignerKey(f.witnessKey);
    const cosigned = async () => {
      const note = await (await get('/log/checkpoint')).text();
      const opened = openCheckpoint(note, f.origin, parseVerifierKey(config.logKey), [witness]);
      return { note, size: opened.checkpoint.size, by: opened.cosignatures.map((c) => c.name) };
    };
    const first = await cosigned();
    expect(first.by).toEqual([witness.name]);
    expect(witness.name).toMatch(/^sigsum\.org\/v1\/witness\/[0-9a-f]{64}$/);
    await new Promise((r) => setTimeout(r, 20));
    await runDurableObjectAlarm(env.LOG.get(env.LOG.idFromName('log')));
    const later = await cosigned();
    expect(later.size).toBeGreaterThan(first.size);
    expect(later.by).toEqual([witness.name]);
    const policy = { witnesses: [witness], quorum: 1, maxAgeSeconds: 600 };
    const v = new LookupVerifier({
      origin: f.origin,
      logKey: parseVerifierKey(config.logKey),
      vrfKey: fromBase64(config.vrfKey),
      policy,
    });
    const proof = lookupFromJson(await (await get('/v1/lookup/chat.example/nobody%40chat.example')).json());
    expect(v.verifyLookup(proof, 'chat.example', 'nobody@chat.example').status).toBe('not_enrolled');

    // The same checkpoint without the cosignature, or with it altered, misses the quorum.
    const checkpoints = new CheckpointVerifier({ origin: f.origin, logKey: parseVerifierKey(config.logKey), policy });
    const lines = later.note.split('\n');
    const at = lines.findIndex((l) => l.includes(witness.name));
    const removed = lines.filter((_, i) => i !== at).join('\n');
    const sig = fromBase64(lines[at].split(' ').at(-1)!);
    sig[sig.length - 1] ^= 1;
    const altered = lines
      .map((l, i) => (i === at ? `${l.slice(0, l.lastIndexOf(' '))} ${toBase64(sig)}` : l))
      .join('\n');
    expect(checkpoints.verify(later.note).cosignatures).toHaveLength(1);
    expect(() => checkpoints.verify(removed)).toThrow(/witness/);
    expect(() => checkpoints.verify(altered)).toThrow(/invalid signature by sigsum\.org\/v1\/witness\//);
  });

  it('goes on after the witness restarts; while it is down, says so and serves checkpoints a client refuses', async () => {
    const witness = parseCosignerKey(f.witnessKey);
    const config = (await (await get('/v1/config')).json()) as { logKey: string };
    const checkpoints = new CheckpointVerifier({
      origin: f.origin,
      logKey: parseVerifierKey(config.logKey),
      policy: { witnesses: [witness], quorum: 1 },
    });
    const epoch = async () => {
      await new Promise((r) => setTimeout(r, 20));
      await runDurableObjectAlarm(env.LOG.get(env.LOG.idFromName('log')));
      return (await get('/log/checkpoint')).text();
    };
    const control = (what: 'stop' | 'start') => fetch(`${f.controlUrl}/${what}`, { method: 'POST' });
    const cosigned = await (await get('/log/checkpoint')).text();
    expect((await control('stop')).status).toBe(204);
    const missed = await epoch();
    expect(() => checkpoints.verify(missed)).toThrow(/witness/);
    const health = (await (await get('/healthz')).json()) as { ok: boolean; degraded?: string[] };
    expect(health.ok).toBe(false);
    expect(health.degraded?.join()).toMatch(/witness/);
    expect(await (await get('/metrics')).text()).toMatch(/kt_witness_failures_total\{witness="[^"]+"\} [1-9]/);
    expect((await control('start')).status).toBe(204);
    // It kept the size it cosigned: asked to start again from 0, it answers 409 with that size.
    const asked = await fetch(`${f.witnessUrl}/add-checkpoint`, {
      method: 'POST',
      body: addCheckpointBody(0, [], cosigned),
    });
    expect([asked.status, await asked.text()]).toEqual([409, `${cosigned.split('\n')[1]}\n`]);
    const resumed = await epoch(); // from its state file: it cosigns the size it already holds, or a later one
    expect(checkpoints.verify(resumed).cosignatures.map((c) => c.name)).toEqual([witness.name]);
    // (Heartbeats every 10 ms here make "epochs stall" come and go; the witness's reason is what is checked.)
    const after = (await (await get('/healthz')).json()) as { degraded?: string[] };
    expect((after.degraded ?? []).join()).not.toMatch(/witness/);
  });
});
