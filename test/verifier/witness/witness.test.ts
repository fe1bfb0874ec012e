/**
 * The witness (verifier/witness/witness.ts, C2SP tlog-witness v1.0.0): it cosigns a growing log's checkpoints in
 * order, answers every refusal with the status the specification gives, never rolls back (also under
 * concurrent requests), refuses a split view, a bad proof at every bit flip and a mangled body, and in
 * auditing mode cosigns only what the audit accepts. Cosignatures verify with the witness's key.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { ed25519NoteSigner, openNote, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { openCheckpoint, signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { proveTree, treeHash } from '../../../verifier/formats/tlog.js';
import { addCheckpointBody, parseAddCheckpoint } from '../../../verifier/formats/add-checkpoint.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';
import { Witness, type WitnessOptions } from '../../../verifier/witness/witness.js';
import { MemoryHashStore, records } from '../../helpers/log.js';

const ORIGIN = 'example.com/witnessed-log';
const logSigner = ed25519NoteSigner(ORIGIN, sha256(utf8('witnessed log key')));
const witnessSigner = cosigner('witness.example/w1', sha256(utf8('witness key')), () => 1_800_000_000n);

/** A log of `n` records (and a forked twin that differs from record `forkAt` on). */
function makeLog(n: number, forkAt = n) {
  const store = new MemoryHashStore();
  records(0, n).forEach((r, i) => store.append(i >= forkAt ? utf8(`fork ${i}`) : r));
  return {
    store,
    note: (size: number) => signCheckpoint({ origin: ORIGIN, size, rootHash: treeHash(size, store) }, logSigner),
    proof: (from: number, to: number) => (from === 0 || from === to ? [] : proveTree(to, from, store)),
  };
}

function witness(opts: Partial<WitnessOptions> = {}) {
  const store = new MemoryWitnessStore();
  const w = new Witness({
    cosigner: witnessSigner,
    logs: [{ origin: ORIGIN, keys: [parseVerifierKey(logSigner.verifierKey)] }],
    store,
    ...opts,
  });
  return { w, store };
}

const submit = (w: Witness, from: number, to: number, log = makeLog(100)) =>
  w.addCheckpoint(addCheckpointBody(from, log.proof(from, to), log.note(to)));

describe('the witness', () => {
  it('cosigns a growing log in order, and its cosignatures verify with its key', async () => {
    const { w, store } = witness();
    const log = makeLog(100);
    let old = 0;
    for (const size of [1, 2, 7, 7, 64, 100]) {
      const res = await submit(w, old, size, log);
      expect([res.status, res.contentType], `to ${size}`).toEqual([200, 'text/plain; charset=utf-8']);
      const cosigned = log.note(size) + res.body;
      const opened = openCheckpoint(cosigned, ORIGIN, parseVerifierKey(logSigner.verifierKey), [
        parseCosignerKey(witnessSigner.verifierKey),
      ]);
      expect(opened.cosignatures).toEqual([
        { name: 'witness.example/w1', keyId: witnessSigner.keyId, timestamp: 1_800_000_000n },
      ]);
      expect(store.records.get(ORIGIN)?.size).toBe(size);
      old = size;
    }
  });

  it('answers each refusal with the status of the specification, and keeps its state', async () => {
    const { w, store } = witness();
    const log = makeLog(100);
    expect((await submit(w, 0, 10, log)).status).toBe(200);
    const conflict = await submit(w, 5, 20, log);
    expect(conflict).toEqual({ status: 409, contentType: 'text/x.tlog.size', body: '10\n' });
    expect((await submit(w, 0, 20, log)).status).toBe(409); // a log that forgot the witness's state learns it
    expect((await w.addCheckpoint(addCheckpointBody(10, [], log.note(5)))).status).toBe(400); // old above new
    const unknown = signCheckpoint(
      { origin: 'example.com/other', size: 1, rootHash: new Uint8Array(32) },
      ed25519NoteSigner('example.com/other', sha256(utf8('x'))),
    );
    expect((await w.addCheckpoint(addCheckpointBody(0, [], unknown))).status).toBe(404);
    const impostor = signCheckpoint(
      { origin: ORIGIN, size: 20, rootHash: treeHash(20, log.store) },
      ed25519NoteSigner(ORIGIN, sha256(utf8('not the log'))),
    );
    expect((await w.addCheckpoint(addCheckpointBody(10, log.proof(10, 20), impostor))).status).toBe(403);
    expect((await w.addCheckpoint(addCheckpointBody(10, log.proof(10, 30), log.note(20)))).status).toBe(422); // proof for other sizes
    expect((await w.addCheckpoint(addCheckpointBody(0, log.proof(10, 20), log.note(20)))).status).toBe(409);
    expect(store.records.get(ORIGIN)?.size).toBe(10);
  });

  it('refuses a split view: a fork of the tree it cosigned, at the same size or larger', async () => {
    const { w } = witness();
    const honest = makeLog(100);
    const fork = makeLog(100, 40);
    expect((await submit(w, 0, 50, honest)).status).toBe(200);
    expect((await w.addCheckpoint(addCheckpointBody(50, [], fork.note(50)))).status).toBe(409);
    expect((await w.addCheckpoint(addCheckpointBody(50, fork.proof(50, 80), fork.note(80)))).status).toBe(422);
    expect((await submit(w, 50, 80, honest)).status).toBe(200);
  });

  it('refuses every bit flip of the consistency proof', async () => {
    const { w } = witness();
    const log = makeLog(100);
    expect((await submit(w, 0, 37, log)).status).toBe(200);
    const proof = log.proof(37, 91);
    for (let i = 0; i < proof.length; i++) {
      for (let bit = 0; bit < 256; bit += 5) {
        const bad = proof.map((h) => h.slice());
        bad[i][bit >> 3] ^= 1 << (bit & 7);
        expect((await w.addCheckpoint(addCheckpointBody(37, bad, log.note(91)))).status, `hash ${i} bit ${bit}`).toBe(
          422,
        );
      }
    }
    expect((await w.addCheckpoint(addCheckpointBody(37, proof.slice(1), log.note(91)))).status).toBe(422);
    expect((await w.addCheckpoint(addCheckpointBody(37, [...proof, proof[0]], log.note(91)))).status).toBe(422);
    expect((await w.addCheckpoint(addCheckpointBody(37, proof, log.note(91)))).status).toBe(200);
  });

  it('parses bodies strictly', () => {
    const note = makeLog(3).note(3);
    const h = 'A'.repeat(43) + '=';
    for (const bad of [
      `old 01\n\n${note}`,
      `old -1\n\n${note}`,
      `old 1\n${note}`,
      `old 1\nAAAA\n\n${note}`,
      `new 1\n\n${note}`,
      `old 1\n${h} \n\n${note}`,
      'old 1\n\n',
      `old 1\n${`${h}\n`.repeat(64)}\n${note}`,
    ]) {
      expect(() => parseAddCheckpoint(utf8(bad)), JSON.stringify(bad.slice(0, 20))).toThrow();
    }
    expect(parseAddCheckpoint(utf8(`old 2\n${h}\n\n${note}`)).proof).toHaveLength(1);
  });

  it('never rolls back under concurrent requests', async () => {
    const { w, store } = witness();
    const log = makeLog(100);
    expect((await submit(w, 0, 10, log)).status).toBe(200);
    const results = await Promise.all([submit(w, 10, 60, log), submit(w, 10, 30, log), submit(w, 10, 90, log)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const won = [60, 30, 90][results.findIndex((r) => r.status === 200)];
    expect(store.records.get(ORIGIN)?.size).toBe(won);
    expect(results.filter((r) => r.status === 409).every((r) => r.body === `${won}\n`)).toBe(true);
  });

  it('in auditing mode, cosigns only what the audit accepts', async () => {
    const audited: number[] = [];
    const { w, store } = witness({ audit: async (_origin, _from, to) => (audited.push(to.size), to.size !== 50) });
    const log = makeLog(100);
    expect((await submit(w, 0, 40, log)).status).toBe(200);
    expect((await submit(w, 40, 50, log)).status).toBe(422);
    expect(store.records.get(ORIGIN)?.size).toBe(40);
    expect((await submit(w, 40, 60, log)).status).toBe(200);
    expect(audited).toEqual([40, 50, 60]);
    // The cosignature is over the checkpoint text only: any log signature set verifies.
    expect(() => openNote(log.note(60), [parseVerifierKey(logSigner.verifierKey)])).not.toThrow();
  });
});
