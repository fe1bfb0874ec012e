/**
 * The witness's part of the fuzz corpus (api/app/witness-app.ts, C2SP tlog-witness `add-checkpoint`): bodies
 * that are not an add-checkpoint request, framing that is off (old sizes, proof lines, the empty line), the
 * log's own checkpoint altered or at the wrong old size, bodies above the bound, wrong methods and unknown
 * routes, all from a seed. `checkpoint` is a checkpoint the witness has already cosigned at `size`: none of
 * these requests may be cosigned nor move the witness's view of the log.
 */
import { toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import type { FuzzRequest } from './fuzz-corpus.js';
import { HOSTILE_JSON_TEXTS, HOSTILE_NUMBERS, Prng } from './fuzz-values.js';

const TEXT: [string, string][] = [['Content-Type', 'text/plain']];

/** The checkpoint with a byte of its last signature changed (after the 4-byte key hash). */
function alteredSignature(checkpoint: string): string {
  const at = checkpoint.lastIndexOf(' ') + 10;
  const swapped = checkpoint[at] === 'A' ? 'B' : 'A';
  return `${checkpoint.slice(0, at)}${swapped}${checkpoint.slice(at + 1)}`;
}

/** The checkpoint with one byte of its text or signature altered (never still signed by the log). */
function alteredNote(rng: Prng, checkpoint: string): string {
  const lines = checkpoint.split('\n');
  switch (rng.int(5)) {
    case 0:
      return checkpoint.replace(/^(.*)\n/, 'other.example/log\n');
    case 1:
      return [lines[0], String(Number(lines[1]) + 1 + rng.int(1000)), ...lines.slice(2)].join('\n');
    case 2:
      return alteredSignature(checkpoint);
    case 3:
      return checkpoint.replace(/\n\n/, '\nextension line\n\n');
    default:
      return checkpoint.slice(0, rng.int(checkpoint.length));
  }
}

/** A body framed as add-checkpoint around the log's checkpoint, with something off. */
function framedBody(rng: Prng, checkpoint: string, size: number): string {
  const hash = toBase64(new Uint8Array(32).fill(rng.int(256)));
  return rng.pick<() => string>([
    () => `old ${rng.pick(HOSTILE_NUMBERS)}\n\n${checkpoint}`,
    () => `old ${size + 1 + rng.int(10)}\n\n${checkpoint}`,
    () => `old 0\n\n${checkpoint}`,
    () => `old ${size}\n${hash}\n\n${checkpoint}`,
    () => `old ${size}\n${'x'.repeat(43)}=\n\n${checkpoint}`,
    () => `old ${size}\n${`${hash}\n`.repeat(64)}\n${checkpoint}`,
    () => `old ${size}\n\n${alteredNote(rng, checkpoint)}`,
    () => `old ${size}\n${checkpoint}`,
    () => `old ${size}\r\n\r\n${checkpoint}`,
    () => `OLD ${size}\n\n${checkpoint}`,
    () => `old ${size}\n\n`,
    () => `old ${size}`,
    () => `\n\n${checkpoint}`,
    () => rng.pick(HOSTILE_JSON_TEXTS),
  ])();
}

/** One hostile request to the witness's app. */
function witnessRequest(rng: Prng, checkpoint: string, size: number): FuzzRequest {
  switch (rng.int(8)) {
    case 0:
      return {
        name: 'a wrong method',
        method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH']),
        target: '/add-checkpoint',
        headers: TEXT,
        body: undefined,
      };
    case 1:
      return {
        name: 'an unknown route',
        method: rng.pick(['GET', 'POST']),
        target: rng.pick(['/x', '/add-checkpoint/', '/%2e%2e/add-checkpoint', '/ADD-CHECKPOINT']),
        headers: TEXT,
      };
    case 2:
      return {
        name: 'random bytes',
        method: 'POST',
        target: '/add-checkpoint',
        headers: TEXT,
        body: rng.bytes(rng.int(300)),
      };
    case 3:
      return {
        name: 'a body above 64 KiB',
        method: 'POST',
        target: '/add-checkpoint',
        headers: TEXT,
        body: utf8(`old 0\n\n${'a'.repeat(64 * 1024)}`),
      };
    case 4:
      return {
        name: 'an aborted body',
        method: 'POST',
        target: '/add-checkpoint',
        headers: TEXT,
        body: `old ${size}\n\n`,
        aborted: true,
      };
    default: {
      const body = framedBody(rng, checkpoint, size);
      return {
        name: `add-checkpoint ${JSON.stringify(body.slice(0, 40))}`,
        method: 'POST',
        target: '/add-checkpoint',
        headers: TEXT,
        body,
      };
    }
  }
}

/** `count` hostile requests to a witness that has cosigned `checkpoint` (of tree size `size`). */
export function witnessCorpus(seed: number, count: number, checkpoint: string, size: number): FuzzRequest[] {
  const rng = new Prng(seed);
  return Array.from({ length: count }, () => witnessRequest(rng, checkpoint, size));
}
