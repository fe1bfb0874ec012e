/**
 * What the log operator's witnessing (log/merkle/witnessing.ts) learns from a witness's 409 answers, with a real
 * witness (verifier/witness/witness.ts behind api/app/witness-app.ts) reached through `app.request`: a witness
 * that lost its state (its store emptied after it cosigned) is caught up from the size it holds and reported
 * (`onStateLost`, with both sizes); one that merely missed nothing is not reported.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { Witnessing } from '../../../log/merkle/witnessing.js';
import { Witness } from '../../../verifier/witness/witness.js';
import { witnessApp } from '../../../api/app/witness-app.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';

const records = (first: number, n: number) => Array.from({ length: n }, (_, i) => utf8(`record ${first + i}`));

describe('witnessing, as the witness answers 409', () => {
  it('reports a witness that holds fewer entries than it cosigned, and cosigns again from there', async () => {
    const origin = 'example.com/state-lost';
    const signer = parseSignerKey(generateSignerKey(origin).signerKey);
    const storage = new MemoryLogStorage();
    const appender = await LogAppender.open({ storage, signer, origin });
    const reader = new LogReader(storage, () => appender.head);
    const w = cosigner('witness.example/w1', sha256(utf8('w1')));
    const store = new MemoryWitnessStore();
    const app = witnessApp(
      new Witness({ cosigner: w, store, logs: [{ origin, keys: [parseVerifierKey(signer.verifierKey)] }] }),
    );
    const lost: [string, number, number][] = [];
    const failed: string[] = [];
    const witnessing = new Witnessing({
      witnesses: [{ key: w.verifierKey, url: 'http://w1.example' }],
      readTile: (t) => reader.tile(t),
      fetch: async (url, init) => app.request(url.replace('http://w1.example', ''), init),
      onStateLost: (url, held, cosigned) => void lost.push([url, held, cosigned]),
      onFailure: (_url, e) => void failed.push(e.message),
    });
    const cosignedSize = async () => {
      const note = await witnessing.cosign(appender.head.checkpoint);
      expect(note.split('\n').filter((l) => l.startsWith(`\u2014 ${w.name} `)).length).toBe(1);
      return store.records.get(origin)?.size;
    };
    await appender.append(records(0, 10));
    expect(await cosignedSize()).toBe(10);
    await appender.append(records(10, 5));
    expect(await cosignedSize()).toBe(15);
    expect(lost).toEqual([]);
    store.records.clear(); // the witness lost its state
    await appender.append(records(15, 5));
    expect(await cosignedSize()).toBe(20);
    expect(lost).toEqual([['http://w1.example', 0, 15]]);
    expect(failed).toEqual([]);
  });
});
