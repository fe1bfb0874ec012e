/**
 * The Worker serves the same proofs as the Node server. The directory script (directory-script.ts) runs
 * through the Worker's fetch on a fresh Durable Object, with the same log key, VRF key, trusted root,
 * provider certificate and signed statements as the Node server's run in the globalSetup
 * (test/fixtures/worker-directory.ts). Checkpoints cannot be byte-identical (every version's opening is random,
 * and entries carry times), so the test checks instead, for every answer:
 * - the same status and the same JSON shape (field names, types, string and list lengths), recursively;
 * - equal values everywhere except the fields that depend on openings or times (masked below): the VRF
 *   proofs, statements, signatures, versions, log indexes, epochs, tree sizes and the config's pins and
 *   provider list are identical;
 * - every proof from either side verifies with the same `LookupVerifier` (pins from the Worker's
 *   /v1/config, equal to Node's); checkpoints open under the log key; the level-0 tile is the record hashes
 *   of the entry bundle, whose root is the checkpoint's; the entries have the same types, labels and
 *   versions in the same order.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, fromBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { decodeEntry } from '../../../verifier/formats/entries.js';
import { discoveryFromJson, historyFromJson, lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { recordHash, rootFromLeafHashes } from '../../../verifier/formats/tlog.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { bytesOf, runScript, type Recording } from './directory-script.js';
import { fixture, get, settle } from './helpers.js';

/** The JSON shape: field names, types, and the lengths of strings and lists, recursively. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, shape((v as Record<string, unknown>)[k])]),
    );
  return typeof v === 'string' ? `string(${v.length})` : typeof v;
}

/** Fields whose values depend on random openings or on times (their shape is still compared). */
const VARYING = new Set([
  'checkpoint',
  'headEntry',
  'headProof',
  'map',
  'opening',
  'previousHistory',
  'commitment',
  'entry',
  'proof',
  'credentials',
  'epochIntervalMs',
  'heartbeatMs',
]);

function mask(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(mask);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, VARYING.has(k) ? '(varies)' : mask(x)]));
  return v;
}

function verifyAll(verifier: LookupVerifier, r: Recording, provider: string) {
  const a = `a@${provider}`;
  const d = `d@${provider}`;
  const present = verifier.verifyLookup(lookupFromJson(r['lookup-present'].body), provider, a);
  const absent = verifier.verifyLookup(lookupFromJson(r['lookup-absent'].body), provider, `nobody@${provider}`);
  const deleted = verifier.verifyLookup(lookupFromJson(r['lookup-deleted'].body), provider, d);
  const historyA = verifier.verifyHistory(historyFromJson(r['history-a'].body), provider, a, HISTORY_ZERO);
  const historyD = verifier.verifyHistory(historyFromJson(r['history-d'].body), provider, d, HISTORY_ZERO);
  const discovered = verifier.verifyDiscovery(discoveryFromJson(r.discover.body), a);
  const unknown = `not-${provider}`;
  const notEnrolled = verifier.verifyLookup(lookupFromJson(r['lookup-not-enrolled'].body), unknown, a);
  const historyN = verifier.verifyHistory(historyFromJson(r['history-not-enrolled'].body), unknown, a, HISTORY_ZERO);
  const batch = (r.batch.body as { lookups: unknown[] }).lookups.map((l) => {
    const p = lookupFromJson(l);
    return verifier.verifyLookup(p, p.provider, p.account).status;
  });
  return {
    statuses: [
      present.status,
      absent.status,
      deleted.status,
      discovered.get(provider)!.status,
      notEnrolled.status,
      historyN.lookup.status,
      ...batch,
    ],
    epochs: [present.epoch, absent.epoch, deleted.epoch],
    historyA: historyA.statements.map((s) => s && { version: s.version, status: s.status }),
    // The erased version 1 of d@ is a bare commitment: no statement.
    historyD: historyD.statements.map((s) => s && { version: s.version, status: s.status }),
    label: toHex(present.label),
  };
}

/** Checks the checkpoint, the tile and the bundle of one side; returns its entries. */
function checkLog(r: Recording, logKey: string) {
  const cp = openCheckpoint(r.checkpoint.body as string, fixture.origin, parseVerifierKey(logKey)).checkpoint;
  const entries = decodeEntryBundle(bytesOf(r.bundle));
  expect(entries).toHaveLength(cp.size);
  const hashes = entries.map(recordHash);
  expect(bytesOf(r.tile)).toEqual(concatBytes(...hashes));
  expect(equalBytes(rootFromLeafHashes(hashes), cp.rootHash)).toBe(true);
  return { size: cp.size, entries: entries.map((e) => decodeEntry(e)) };
}

describe('the Worker and the Node server', () => {
  it('serve the same proofs for the same keys, certificate and statements', async () => {
    expect((await get('/healthz')).status).toBe(200); // opens the directory: epoch 0
    const worker = await runScript(get, fixture, settle);
    const node = fixture.node;
    expect(Object.keys(worker).sort()).toEqual(Object.keys(node).sort());

    for (const key of Object.keys(node)) {
      expect(worker[key].status, key).toBe(node[key].status);
      expect(shape(worker[key].body), key).toEqual(shape(node[key].body));
      if (!['checkpoint', 'tile', 'bundle'].includes(key))
        expect(mask(worker[key].body), key).toEqual(mask(node[key].body));
    }
    expect(worker.enrol.body).toMatchObject({
      providerId: fixture.provider,
      status: 'committed',
      epoch: 1,
      logIndex: 1,
      treeSize: 3,
    });
    // Epochs 2 to 5 each add the provider's KEYTRANS heads entry (0x04) before the statement and the epoch head.
    expect(worker['publish-3'].body).toMatchObject({
      results: [{ status: 'committed', version: 2, epoch: 5, logIndex: 12, treeSize: 15 }],
    });

    // The same pins on both sides; every proof of either side verifies with them.
    const config = worker.config.body as { origin: string; logKey: string; vrfKey: string };
    expect([config.origin, config.logKey, config.vrfKey]).toEqual([
      fixture.origin,
      (node.config.body as typeof config).logKey,
      (node.config.body as typeof config).vrfKey,
    ]);
    const verifier = new LookupVerifier({
      origin: config.origin,
      logKey: parseVerifierKey(config.logKey),
      vrfKey: fromBase64(config.vrfKey),
    });
    const fromWorker = verifyAll(verifier, worker, fixture.provider);
    expect(fromWorker.statuses).toEqual([
      'present',
      'absent',
      'deleted',
      'present',
      'not_enrolled',
      'not_enrolled',
      'present',
      'absent',
    ]);
    expect(fromWorker.historyA).toEqual([
      { version: 1, status: 'active' },
      { version: 2, status: 'active' },
    ]);
    expect(fromWorker.historyD).toEqual([undefined, { version: 2, status: 'deleted' }]);
    expect(verifyAll(verifier, node, fixture.provider)).toEqual(fromWorker);

    // Checkpoints differ (random openings), but both open under the log key over the same tree size, and
    // both logs hold the same entries in kind and order, with the same labels and versions.
    const w = checkLog(worker, config.logKey);
    const n = checkLog(node, config.logKey);
    expect(w.size).toBe(15);
    expect(n.size).toBe(15);
    expect(worker.checkpoint.body).not.toBe(node.checkpoint.body);
    const outline = (es: typeof w.entries) =>
      es.map((e) =>
        e.type === 'update'
          ? `update ${toHex(e.label)} v${e.version}`
          : e.type === 'epoch'
            ? `epoch ${e.epoch} ${e.firstIndex}+${e.count}`
            : e.type,
      );
    expect(outline(w.entries)).toEqual(outline(n.entries));
    expect(outline(w.entries).filter((e) => e.startsWith('update'))).toHaveLength(4);
    expect(outline(w.entries).filter((e) => e === 'keytrans')).toHaveLength(4);
  });
});
