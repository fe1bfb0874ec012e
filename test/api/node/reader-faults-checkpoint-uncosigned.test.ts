/**
 * Reader processes (api/node/reader-process.ts, `openReader`): while the sequencer waits for its witnesses'
 * cosignatures of a committed epoch, a reader serves the same /log/checkpoint as the sequencer, the last served
 * one (README: "An epoch is served by the readers once its checkpoint carries the witnesses' cosignatures, as
 * the sequencer serves it"), read from the store's served row (`servedCheckpoint`). Before, it fell back to the
 * newest head while the newest epoch had no served checkpoint: a checkpoint the witnesses had not cosigned (a
 * client with a witness policy refuses it), ahead of the epoch the same reader's lookups are proven in.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { http, startNodeDirectory } from '../../helpers/node-directory.js';

describe("a reader's /log/checkpoint while the witnesses cosign", () => {
  it("is the sequencer's served checkpoint, not the newest head", async () => {
    // A witness that refuses at once, or, once held, keeps its answer until released.
    let hold = false;
    const held: ServerResponse[] = [];
    let got: (() => void) | null = null;
    const witness = createServer((req, res) => {
      req.resume();
      if (!hold) return void res.writeHead(503).end();
      held.push(res);
      got?.();
    });
    await new Promise<void>((r) => witness.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(witness.address() as AddressInfo).port}`;
    const key = cosigner('witness.example/w1', new Uint8Array(32).fill(7)).verifierKey;
    const d = await startNodeDirectory({ readers: 1, witnesses: [{ key, url }] });
    try {
      const served = d.server.directory!.servedSnapshot.checkpoint;
      expect((await http(`${d.url}/log/checkpoint`)).text).toBe(served);

      hold = true;
      const asked = new Promise<void>((r) => (got = r));
      const publishing = d.publish('alice@chat.example'); // an epoch commits, then waits for the witness
      await asked;
      const fromReader = await http(`${d.url}/log/checkpoint`);
      expect(fromReader.headers['x-kt-reader']).toBe('0');
      // The sequencer still serves the epoch before (its lookups wait for the cosignatures).
      expect(d.server.directory!.servedSnapshot.checkpoint).toBe(served);
      expect(fromReader.text).toBe(served); // before: the new, uncosigned head

      hold = false;
      for (const res of held) res.writeHead(503).end();
      await publishing;
    } finally {
      for (const res of held) if (!res.writableEnded) res.writeHead(503).end();
      await d.close();
      witness.close();
    }
  }, 60_000);
});
