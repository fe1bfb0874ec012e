/** Crash safety: SIGKILL the SQLite writer mid-batch, restart, and check nothing acknowledged was lost or forked. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../../wasm-free-crypto/bytes.js';
import { encodeSignerKey, parseSignerKey, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { openCheckpoint, type Checkpoint } from '../../../verifier/formats/checkpoint.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { decodeEntryBundle, tileHashReader, tilesForSize, type Tile } from '../../../verifier/formats/tiles.js';
import { proveTree, verifyConsistency } from '../../../verifier/formats/tlog.js';
import { ORIGIN, prng } from '../../helpers/log.js';

const WRITER = fileURLToPath(new URL('../../fixtures/crash-writer.ts', import.meta.url));

interface Ack {
  pid: number;
  firstIndex: number;
  count: number;
  head: { size: number; checkpoint: string };
}

/** Runs the writer until it has acknowledged `acks` batches, then waits `delayMs` and SIGKILLs it mid-batch. */
function runAndKill(dbPath: string, keyFile: string, acks: number, delayMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    // node --import tsx, not the tsx wrapper: SIGKILL must hit the writing process itself.
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dbPath, keyFile, ORIGIN], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seen: Ack[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const msg = JSON.parse(line);
        if (!('pid' in msg)) continue;
        seen.push(msg);
        if (seen.length === acks) setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`writer exited ${code}: ${stderr}`)),
    );
  });
}

async function readAllEntries(reader: LogReader, size: number): Promise<string[]> {
  const out: string[] = [];
  for (let n = 0; n * 256 < size; n++) {
    const bundle = await reader.entryBundle(n, Math.min(256, size - n * 256));
    out.push(...decodeEntryBundle(bundle!).map(fromUtf8));
  }
  return out;
}

describe('crash safety (SQLite, SIGKILL mid-batch)', () => {
  it('never loses an acknowledged batch, never regresses and never forks across crashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-crash-'));
    const dbPath = join(dir, 'log.db');
    const seed = randomBytes(32);
    const keyFile = join(dir, 'log.key');
    writeFileSync(keyFile, encodeSignerKey(ORIGIN, seed));
    const signer = parseSignerKey(encodeSignerKey(ORIGIN, seed));
    const verifier = parseVerifierKey(signer.verifierKey);
    const rand = prng(42);
    const acked: Ack[] = [];
    for (let round = 0; round < 6; round++) {
      acked.push(...(await runAndKill(dbPath, keyFile, 1 + Math.floor(rand() * 4), Math.floor(rand() * 40))));
      const storage = new SqliteLogStorage(dbPath);
      expect(storage.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const head = storage.loadHeadSync()!;
      const last = acked[acked.length - 1];
      expect(head.size).toBeGreaterThanOrEqual(last.head.size);
      await storage.close();
    }
    // The log opens (its tiles reproduce its checkpoint), and every acknowledged batch is in it, unchanged.
    const storage = new SqliteLogStorage(dbPath);
    const log = await LogAppender.open({ storage, signer, origin: ORIGIN });
    const reader = new LogReader(storage, () => log.head);
    const entries = await readAllEntries(reader, log.head.size);
    const wrong = acked.flatMap((a) =>
      Array.from({ length: a.count }, (_, i) => a.firstIndex + i).filter(
        (i) => entries[i] !== `entry ${i} by ${a.pid}`,
      ),
    );
    expect(wrong).toEqual([]);
    // Every checkpoint ever published is consistent with the final one: no fork, no rewrite.
    const final = openCheckpoint(log.head.checkpoint, ORIGIN, verifier).checkpoint;
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesForSize(final.size)) tiles.set(`${t.level}/${t.n}/${t.width}`, (await reader.tile(t))!);
    const hr = tileHashReader(final.size, (t: Tile) => tiles.get(`${t.level}/${t.n}/${t.width}`)!);
    for (const a of acked) {
      const cp: Checkpoint = openCheckpoint(a.head.checkpoint, ORIGIN, verifier).checkpoint;
      verifyConsistency(cp.size, final.size, proveTree(final.size, cp.size, hr), cp.rootHash, final.rootHash);
    }
    expect(new Set(acked.map((a) => a.pid)).size).toBe(6);
    await storage.close();
  }, 120_000);
});
