/**
 * Benchmarks of the KEYTRANS deployments (issue 16, "Measured"; docs/PROTOCOL.md section 22):
 * - a greatest-version search at 1,000,000 accounts of one provider: the SearchResponse's size and the client's
 *   verification rate (verifier/keytrans/search.ts), beside the directory's own lookup proof size and
 *   verification (the figures lookup_proof_size and client_verify of the same run, linked by bench/run.ts). The
 *   deployment is built in memory below the writer's checks: 1,000,000 leaves of random search keys and
 *   commitments in ten log entries (other accounts' leaves are only ever sibling hashes of a proof, so random ones
 *   make the same proofs), then the searched accounts' versions, written by the real writer with VRF proofs and
 *   the provider's UpdateTBS signatures, then empty entries up to 10,000 (the epochs of a few hours), each with
 *   a signed head;
 * - key rotations with KEYTRANS on: every rotation costs a VRF proof of VrfInput{label, version} in the
 *   provider's deployment, so rotations are VRF-bound; through the Node server's pool of VRF threads, against
 *   80% of the VRF-prove rate of the same threads, beside the plain rotation rate (publish_rotations);
 * - the KEYTRANS client's browser bundle (verifier/keytrans-client/client.ts with the checks and the anchor),
 *   minified and gzipped at level 9: <= 40 KB.
 */
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startVrfPool } from '../api/node/vrf-pool.js';
import { prepareEntry } from '../log/keytrans/deployment-writer.js';
import { appendLogLeaf } from '../log/keytrans/log-append.js';
import { operatorKeys } from '../log/keytrans/operator-keys.js';
import { insertPrefixLeaves } from '../log/keytrans/prefix-insert.js';
import { respondSearch } from '../log/keytrans/search-responder.js';
import { storedView } from '../log/keytrans/stored-view.js';
import { logLeafHash } from '../verifier/keytrans/log-tree.js';
import { encodeMessage } from '../verifier/keytrans/messages.js';
import { verifySearch } from '../verifier/keytrans/search.js';
import { encodeTreeHeadTbs, encodeUpdateTbs, encodeVrfInput } from '../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../verifier/keytrans/suites.js';
import type { Configuration } from '../verifier/keytrans/types.js';
import { ed25519KeyPairFromSeed, ed25519Sign } from '../wasm-free-crypto/ed25519.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { signSync } from '../wasm-free-crypto/signatures.js';
import type { DeploymentAppend, StoredPrefixNode } from '../log/keytrans/deployment-store.js';
import type { PrefixNode } from '../verifier/keytrans/tree-readers.js';
import { toHex } from '../wasm-free-crypto/bytes.js';
import { MemoryDeploymentStore } from '../test/doubles/memory-deployment-store.js';
import { enrolProvider, identityKey, openTestDirectory, statementFor } from '../test/helpers/directory.js';
import { bundleGzipKb } from './client-bench.js';
import { vrfRateTogether } from './directory-bench.js';
import { median, opsPerSecond, type Figure } from './harness.js';

const ACCOUNTS = 1_000_000;
const ENTRIES = 10_000;
const utf8 = (s: string) => new TextEncoder().encode(s);
const START = Date.now();
/** Log entry p's time: one epoch a second, the last one now. */
const timestampOf = (p: number) => START - (ENTRIES - 1 - p) * 1000;

/**
 * A deployment store in memory for a million leaves: the test double's maps without its copies (it copies every
 * row it reads or writes, to catch a caller that changes one; here nothing does), a name's rows newest last.
 */
class BenchStore extends MemoryDeploymentStore {
  private readonly nodes = new Map<string, { position: number; node: StoredPrefixNode }[]>();

  override prefixNode(depth: number, path: Uint8Array, position: number): PrefixNode {
    const rows = this.nodes.get(`${depth}:${toHex(path)}`);
    if (!rows) return { kind: 'empty' };
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i].position <= position) return rows[i].node;
    return { kind: 'empty' };
  }

  override append(a: DeploymentAppend): void {
    super.append({ ...a, prefixNodes: [] });
    for (const n of a.prefixNodes) {
      const name = `${n.depth}:${toHex(n.path)}`;
      const rows = this.nodes.get(name);
      if (rows) rows.push({ position: a.position, node: n.node });
      else this.nodes.set(name, [{ position: a.position, node: n.node }]);
    }
  }
}

/** One log entry of `leaves` random leaves, appended below the writer (no versions kept: never searched). */
function appendFiller(store: BenchStore, config: Configuration, headKey: Uint8Array, leaves: number) {
  const position = store.size();
  const random = Array.from({ length: leaves }, () => ({ vrfOutput: randomBytes(32), commitment: randomBytes(32) }));
  const read = (depth: number, path: Uint8Array) =>
    position === 0 ? ({ kind: 'empty' } as const) : store.prefixNode(depth, path, position - 1);
  const prefix = leaves === 0 ? null : insertPrefixLeaves(SUITE, read, random);
  const entry = {
    timestamp: Date.now() - ENTRIES * 1000 + position,
    prefixTree: prefix?.root ?? store.entry(position - 1).prefixTree,
  };
  const log = appendLogLeaf(SUITE, (l, i) => store.logNode(l, i), position, logLeafHash(SUITE, entry));
  const headSignature = ed25519Sign(headKey, encodeTreeHeadTbs(config, position + 1, log.root));
  store.append({ position, entry, headSignature, logNodes: log.rows, prefixNodes: prefix?.rows ?? [], versions: [] });
}

/** A deployment of ACCOUNTS accounts and ENTRIES log entries, with `alice` at 5 versions. */
async function buildDeployment() {
  const vrfSecret = randomBytes(32);
  const leafSeed = randomBytes(32);
  const keys = operatorKeys(vrfSecret, 'chat.example');
  const config: Configuration = {
    ciphersuite: 0x0002,
    mode: 'thirdPartyManagement',
    signaturePublicKey: keys.headPublicKey,
    vrfPublicKey: keys.vrfPublicKey,
    leafPublicKey: ed25519KeyPairFromSeed(leafSeed).publicKey,
    maxAhead: 60_000,
    maxBehind: 86_400_000,
    reasonableMonitoringWindow: 86_400_000,
    maximumLifetime: null,
  };
  const store = new BenchStore();
  for (let i = 0; i < 10; i++) appendFiller(store, config, keys.headSecretKey, ACCOUNTS / 10);
  const writer = { suite: SUITE, config, headSecretKey: keys.headSecretKey, vrf: keys.vrfWrite };
  const label = utf8('alice@chat.example');
  for (let v = 0; v < 5; v++) {
    for (let k = 0; k < ENTRIES / 6; k++) appendFiller(store, config, keys.headSecretKey, 0);
    const value = utf8(`alice's binding statement, version ${v + 1}`);
    const signature = ed25519Sign(leafSeed, encodeUpdateTbs(config, label, v, value));
    const timestamp = timestampOf(store.size());
    store.append(
      (await prepareEntry(store, writer, [{ label, value: { value, suffix: { signature } } }], timestamp)).append,
    );
  }
  while (store.size() < ENTRIES) appendFiller(store, config, keys.headSecretKey, 0);
  const searchKey = (l: Uint8Array, version: number) => {
    const { output, proof } = keys.vrf(encodeVrfInput({ label: l, version }));
    return { vrfOutput: output, vrfProof: proof };
  };
  return { view: storedView(store, SUITE, config, store.size(), searchKey), config, label };
}

/** The search response's size and the client's verification rate at ACCOUNTS accounts. */
export async function benchKeyTransSearch(): Promise<Figure[]> {
  const { view, config, label } = await buildDeployment();
  const request = { last: null, label, version: null };
  const response = respondSearch(view, request);
  const ctx = { suite: 0x0002, mode: config.mode, requestHasVersion: false } as const;
  const bytes = encodeMessage('SearchResponse', response, ctx).length;
  const now = Date.now();
  const result = verifySearch(SUITE, config, null, request, response, now);
  if (result.version !== 4) throw new Error('the search did not find version 4');
  const rate = opsPerSecond(() => verifySearch(SUITE, config, null, request, response, now), 1, { rounds: 3 });
  const proofs = response.search.prefixProofs.length;
  const note = `${proofs} prefix proofs, ${response.search.timestamps.length} timestamps, ${response.binaryLadder.length} ladder steps, ${response.search.inclusion.elements.length} log hashes; a new client`;
  return [
    {
      id: 'keytrans_search_bytes',
      name: `KEYTRANS greatest-version search response at ${ACCOUNTS.toLocaleString('en-US')} accounts of one provider, ${ENTRIES.toLocaleString('en-US')} log entries (TLS encoding)`,
      value: bytes,
      unit: 'bytes',
      target: 'reported beside the directory’s own lookup proof (lookup_proof_size)',
      pass: true,
      note,
    },
    {
      id: 'keytrans_search_verify',
      name: 'KEYTRANS client verification of that search (pure JS, a new client)',
      value: rate,
      unit: 'verifications/s',
      target: 'reported beside the directory’s own lookup verification (client_verify)',
      pass: true,
    },
  ];
}

/**
 * Rotations of 3,000 accounts in KEYTRANS (each with its UpdateTBS signature), 1,000 per epoch, the VRF proofs of
 * the deployment on the pool of threads; the median of three rounds, against 80% of what the same threads prove
 * together, measured before and after.
 */
export async function benchKeyTransRotations(): Promise<Figure> {
  const sk = randomBytes(32);
  const threads = availableParallelism();
  const pool = await startVrfPool({ secretKey: sk, threads, maxQueuedReads: 64 });
  const dir = mkdtempSync(join(tmpdir(), 'kt-keytrans-bench-'));
  const db = new Database(join(dir, 'kt.db'));
  const t = await openTestDirectory({ db, maxQueue: 1_000_000, vrfSecretKey: sk, vrfProver: pool, keytrans: true });
  try {
    const p = await enrolProvider(t, 'chat.example');
    await t.dir.closeEpoch(); // the deployment is made
    const config = t.keytrans!.config('chat.example')!;
    const batch = (version: number) => {
      const key = identityKey();
      return Array.from({ length: 3000 }, (_, i) => {
        const account = `user${i}@chat.example`;
        const s = p.sign(statementFor(p, account, version, [key], t.clock.now));
        const tbs = encodeUpdateTbs(config, utf8(account), version - 1, s.statement);
        return { ...s, keytrans: signSync('ed25519', p.leaf.secretKey, tbs) };
      });
    };
    // Streamed, as clients submit to the server while its epochs close (directory-bench.ts, publishStreaming).
    const publish = async (signed: ReturnType<typeof batch>) => {
      const start = performance.now();
      let accepted = 0;
      const committed = signed.map((s) =>
        t.dir.submit(s.statement, s.signature, undefined, s.keytrans).then((a) => (accepted++, a.committed)),
      );
      for (let closedAt = 0; closedAt < signed.length; ) {
        while (accepted - closedAt < 1000 && accepted < signed.length) await new Promise((r) => setTimeout(r, 1));
        closedAt = accepted;
        await t.dir.closeEpoch(false);
      }
      await Promise.all(committed);
      return (signed.length * 1000) / (performance.now() - start);
    };
    await publish(batch(1));
    const before = await vrfRateTogether(sk, threads, 1500);
    const rates: number[] = [];
    for (const version of [2, 3, 4]) rates.push(await publish(batch(version)));
    const vrfRate = Math.max(before, await vrfRateTogether(sk, threads, 1500));
    const rate = median(rates);
    return {
      id: 'publish_rotations_keytrans',
      name: `directory publish, key rotations with KEYTRANS (a VRF proof each, on ${threads} threads; 1,000 per epoch, median of 3 rounds)`,
      value: rate,
      unit: 'updates/s',
      target: '>= 80% of the VRF-prove rate of the cores used (KEYTRANS rotations are VRF-bound)',
      pass: rate >= 0.8 * vrfRate,
      peer: { name: `VRF prove, ${threads} threads proving at once`, value: vrfRate, unit: 'proofs/s' },
      note: `${((100 * rate) / vrfRate).toFixed(0)}% of the VRF-prove rate; plain rotations: publish_rotations`,
    };
  } finally {
    await pool.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The KEYTRANS client's browser bundle, gzip -9, against 40 KB. */
export async function benchKeyTransBundle(): Promise<Figure> {
  const contents = `export { KeyTransClient } from './verifier/keytrans-client/client.ts';
export { verifyKeyTransAnchor, parseKeyTransAnchor } from './verifier/keytrans-anchor/anchor.ts';
export { CheckpointVerifier } from './verifier/verification/checkpoint-policy.ts';`;
  const kb = await bundleGzipKb(contents);
  return {
    id: 'client_bundle_keytrans',
    name: 'KEYTRANS client bundle (search, owner monitoring, the anchor check and the checkpoint policy; gzip -9)',
    value: kb,
    unit: 'KB',
    target: '<= 40 KB',
    pass: kb <= 40,
  };
}
