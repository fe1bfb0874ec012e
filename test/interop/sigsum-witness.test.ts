/**
 * Our log cosigned by a witness nobody here wrote: sigsum-go's `sigsum-witness` (Debian bookworm-backports,
 * installed by .ci/run), run on loopback as the log's only witness (quorum 1). The log is made with
 * `kt init --origin-from-key sigsum`'s origin (the only one that witness accepts), its key handed to the witness
 * in OpenSSH form by sigsum's own `sigsum-key from-hex`, and the witness's cosigner key string made from its
 * OpenSSH public key (verifier/witness/conventions.ts). Checked: every served checkpoint carries the witness's
 * cosignature, which sigsum's tool made and our client's policy verifies; a checkpoint whose cosignature is
 * removed or altered is refused; after the witness restarts on its state file, cosigning goes on; with the
 * witness down, the log says so (`/healthz`, the metrics) and the client refuses the checkpoint that misses the
 * quorum. CI sets KT_REQUIRE_INTEROP=1, so there the test cannot be skipped for want of the tools.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { openDataDir } from '../../api/node/data-dir.js';
import { jsonLogger } from '../../api/app/logger.js';
import { lookupFromJson } from '../../verifier/formats/proof-json.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';
import { LookupVerifier } from '../../verifier/verification/lookup-verifier.js';
import { CheckpointVerifier } from '../../verifier/verification/checkpoint-policy.js';
import { sigsumCosignerKey, sigsumWitnessName } from '../../verifier/witness/conventions.js';
import { closedPort } from '../helpers/kt-process.js';
import { haveSigsum, makeSigsumWitnessKeys, startSigsumWitness, stopSigsumWitness } from '../helpers/sigsum-witness.js';
import { http, PROVIDER, startNodeDirectory, type NodeDirectory } from '../helpers/node-directory.js';

describe.runIf(haveSigsum || process.env.KT_REQUIRE_INTEROP === '1')("our log, cosigned by sigsum's witness", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kt-sigsum-'));
  let port = 0;
  let witness: ChildProcess | undefined;
  let d: NodeDirectory;
  let cosignerKey = '';
  let witnessPublicKey: Uint8Array = new Uint8Array(0);
  let verifier: LookupVerifier;
  const logged: string[] = [];

  beforeAll(async () => {
    const data = openDataDir(join(dir, 'data'), undefined, () => {}, 'sigsum');
    witnessPublicKey = makeSigsumWitnessKeys(dir, data.signer.publicKey);
    cosignerKey = sigsumCosignerKey(witnessPublicKey);
    port = await closedPort();
    witness = await startSigsumWitness(dir, port);
    const settings = {
      epochIntervalMs: 20,
      witnesses: [{ key: cosignerKey, url: `http://127.0.0.1:${port}` }],
      witnessQuorum: 1,
    };
    d = await startNodeDirectory(
      settings,
      jsonLogger((line) => logged.push(line)),
      join(dir, 'data'),
    );
    const pins = JSON.parse((await http(`${d.url}/v1/config`)).text) as {
      origin: string;
      logKey: string;
      vrfKey: string;
    };
    expect(pins.origin).toBe(data.origin);
    verifier = new LookupVerifier({
      origin: pins.origin,
      logKey: parseVerifierKey(pins.logKey),
      vrfKey: fromBase64(pins.vrfKey),
      policy: { witnesses: [parseCosignerKey(cosignerKey)], quorum: 1 },
    });
  }, 30_000);

  afterAll(async () => {
    await d?.close();
    await stopSigsumWitness(witness);
    rmSync(dir, { recursive: true, force: true });
  });

  const policyFor = (origin: string, logKey: string) =>
    new CheckpointVerifier({
      origin,
      logKey: parseVerifierKey(logKey),
      policy: { witnesses: [parseCosignerKey(cosignerKey)], quorum: 1 },
    });

  async function servedCheckpoint(): Promise<string> {
    return (await http(`${d.url}/log/checkpoint`)).text;
  }

  it('serves every checkpoint with the cosignature sigsum-witness made, which the client verifies', async () => {
    const name = sigsumWitnessName(witnessPublicKey);
    for (const account of ['alice@chat.example', 'bob@chat.example']) {
      expect((await d.publish(account)).status).toBe(200);
      const note = await servedCheckpoint();
      expect(note).toContain(`\u2014 ${name} `);
      const res = await http(`${d.url}/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`);
      expect(verifier.verifyLookup(lookupFromJson(JSON.parse(res.text)), PROVIDER, account).status).toBe('present');
    }
    const state = readFileSync(join(dir, 'witness-state'), 'utf8');
    expect(state.length).toBeGreaterThan(0); // the witness kept what it cosigned
  });

  it('refuses a checkpoint whose cosignature is removed or altered', async () => {
    const config = JSON.parse((await http(`${d.url}/v1/config`)).text) as { origin: string; logKey: string };
    const note = await servedCheckpoint();
    const lines = note.split('\n');
    const at = lines.findIndex((l) => l.includes('sigsum.org/v1/witness/'));
    const removed = lines.filter((_, i) => i !== at).join('\n');
    const sig = fromBase64(lines[at].split(' ').at(-1)!);
    sig[sig.length - 1] ^= 1;
    const altered = lines
      .map((l, i) => (i === at ? `${l.split(' ').slice(0, -1).join(' ')} ${toBase64(sig)}` : l))
      .join('\n');
    expect(policyFor(config.origin, config.logKey).verify(note).cosignatures).toHaveLength(1);
    expect(() => policyFor(config.origin, config.logKey).verify(removed)).toThrow(/witness_quorum|0 of the required 1/);
    expect(() => policyFor(config.origin, config.logKey).verify(altered)).toThrow(
      /invalid signature by sigsum\.org\/v1\/witness\//,
    );
  });

  it('goes on cosigning after the witness restarts on its state file', async () => {
    const note = await servedCheckpoint();
    const held = Number(note.split('\n')[1]);
    await stopSigsumWitness(witness);
    witness = await startSigsumWitness(dir, port);
    // It kept the size it cosigned: asked to start again from 0, it answers 409 with that size.
    const asked = await fetch(`http://127.0.0.1:${port}/add-checkpoint`, {
      method: 'POST',
      body: addCheckpointBody(0, [], note),
    });
    expect([asked.status, asked.headers.get('content-type'), await asked.text()]).toEqual([
      409,
      'text/x.tlog.size',
      `${held}\n`,
    ]);
    expect((await d.publish('carol@chat.example')).status).toBe(200);
    const res = await http(`${d.url}/v1/lookup/${PROVIDER}/carol%40chat.example`);
    expect(verifier.verifyLookup(lookupFromJson(JSON.parse(res.text)), PROVIDER, 'carol@chat.example').status).toBe(
      'present',
    );
  });

  it('with the witness down, says so and serves a checkpoint the client refuses', async () => {
    await stopSigsumWitness(witness);
    expect((await d.publish('dave@chat.example')).status).toBe(200);
    const health = JSON.parse((await http(`${d.url}/healthz`)).text) as { ok: boolean; degraded?: string[] };
    expect(health.ok).toBe(false);
    expect(health.degraded?.join()).toMatch(/witness/);
    const url = `http://127.0.0.1:${port}`;
    expect(logged.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ event: 'witness_failed', witness: url }),
    );
    const metrics = (await http(`${d.url}/metrics`)).text;
    expect(metrics).toMatch(new RegExp(`kt_witness_failures_total\\{witness="${url}"\\} [1-9]`));
    const res = await http(`${d.url}/v1/lookup/${PROVIDER}/dave%40chat.example`);
    expect(() => verifier.verifyLookup(lookupFromJson(JSON.parse(res.text)), PROVIDER, 'dave@chat.example')).toThrow(
      /witness/,
    );
  });
});
