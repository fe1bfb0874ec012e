/**
 * What a restored backup's checkpoint is checked against, before the copy may sign again
 * (api/node/restore-check.ts), each source giving one finding:
 *
 * - the log's witnesses (C2SP tlog-witness): each is sent the copy's own signed checkpoint as an
 *   add-checkpoint from the copy's size with an empty proof. A witness whose latest cosigned tree is that
 *   checkpoint answers 200; any other answers 409 with the size it holds. A larger size, or the same size
 *   with another root, proves that the log published past the copy (stale). The copy holds the newest
 *   checkpoint when no witness holds a larger tree and enough of them answered that any checkpoint clients
 *   would accept (cosigned by the advised quorum q of the n witnesses) was seen by one that answered:
 *   n - q + 1 of them (all n when q is 0);
 * - a published checkpoint the operator supplies (a file, or an http(s) URL such as the old server's
 *   `/log/checkpoint`), verified with the log's key under its origin: the same size and root proves the copy
 *   is the newest; a larger size proves it stale; a smaller size or another root at the same size proves
 *   nothing and is refused, as is a checkpoint of another log.
 *
 * An unreachable witness or URL, or an unreadable file, gives no proof either way ("unknown"): the check is
 * repeated later. Nothing here signs anything.
 */
import { readFileSync } from 'node:fs';
import { equalBytes, fromUtf8 } from '../../wasm-free-crypto/bytes.js';
import type { NoteVerifier } from '../../wasm-free-crypto/note.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';
import { openCheckpoint } from '../../verifier/formats/checkpoint.js';
import type { WitnessEndpoint } from '../../log/merkle/witnessing.js';

/** The copy's checkpoint: its size, root and signed note (as the log stored it, without cosignatures). */
export interface CopyHead {
  size: number;
  rootHash: Uint8Array;
  note: string;
}

/** What one source says of the copy's checkpoint. */
export type Finding =
  | { kind: 'newest'; detail: string }
  | { kind: 'stale'; detail: string }
  | { kind: 'refused'; detail: string }
  | { kind: 'unknown'; detail: string };

/** A checkpoint note is small; an answer beyond this is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;
const TIMEOUT_MS = 5000;

/** The body of `res` as text, refusing more than `max` bytes. */
async function boundedText(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new Error(`the answer exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return fromUtf8(all);
}

/** The size one witness holds for the log, and whether its tree is the copy's at that size; or why not known. */
async function probeWitness(w: WitnessEndpoint, head: CopyHead): Promise<{ held: number; same: boolean } | string> {
  try {
    const res = await fetch(`${w.url}/add-checkpoint`, {
      method: 'POST',
      body: addCheckpointBody(head.size, [], head.note),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = await boundedText(res, MAX_ANSWER_BYTES);
    if (res.status === 200) return { held: head.size, same: true };
    const size = /^(0|[1-9][0-9]{0,15})\n$/.exec(body);
    if (res.status === 409 && (res.headers.get('Content-Type') ?? '').startsWith('text/x.tlog.size') && size)
      return { held: Number(size[1]), same: false };
    return `HTTP ${res.status}: ${body.trim().slice(0, 200)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The finding of the witnesses (null when none is configured); `quorum` is the advised witness quorum. */
export async function witnessFinding(
  witnesses: WitnessEndpoint[],
  quorum: number,
  head: CopyHead,
): Promise<Finding | null> {
  if (witnesses.length === 0) return null;
  const answers = await Promise.all(witnesses.map((w) => probeWitness(w, head)));
  const held = answers.map((a, i) => ({ url: witnesses[i].url, a }));
  const larger = held.find((h) => typeof h.a !== 'string' && h.a.held > head.size);
  if (larger && typeof larger.a !== 'string')
    return {
      kind: 'stale',
      detail: `witness ${larger.url} holds tree size ${larger.a.held}, larger than this copy's ${head.size}`,
    };
  const fork = held.find((h) => typeof h.a !== 'string' && h.a.held === head.size && !h.a.same);
  if (fork) return { kind: 'stale', detail: `witness ${fork.url} holds another tree of this copy's size ${head.size}` };
  const answered = held.filter((h) => typeof h.a !== 'string').length;
  const needed = quorum > 0 ? witnesses.length - quorum + 1 : witnesses.length;
  const sizes = held.map((h) => `${h.url}: ${typeof h.a === 'string' ? `no answer (${h.a})` : `size ${h.a.held}`}`);
  if (answered >= needed)
    return {
      kind: 'newest',
      detail: `${answered} of ${witnesses.length} witnesses answered (${needed} needed) and none holds a larger tree (${sizes.join('; ')})`,
    };
  return {
    kind: 'unknown',
    detail: `only ${answered} of ${witnesses.length} witnesses answered, ${needed} needed (${sizes.join('; ')})`,
  };
}

/** The text of a published checkpoint: a file, or an http(s) URL fetched with a bound and a timeout. */
async function readPublished(source: string): Promise<string> {
  if (!/^https?:\/\//.test(source)) return readFileSync(source, 'utf8');
  const res = await fetch(source, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  const text = await boundedText(res, MAX_ANSWER_BYTES);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return text;
}

/** The finding of a published checkpoint, verified with the log's key (`log`) under `origin`. */
export async function publishedFinding(
  source: string,
  origin: string,
  log: NoteVerifier,
  head: CopyHead,
): Promise<Finding> {
  let text: string;
  try {
    text = await readPublished(source);
  } catch (e) {
    return { kind: 'unknown', detail: `cannot read the published checkpoint ${source}: ${(e as Error).message}` };
  }
  let cp;
  try {
    cp = openCheckpoint(text, origin, log).checkpoint;
  } catch (e) {
    return {
      kind: 'refused',
      detail: `${source} is not a checkpoint of this log (signed by its key under origin ${origin}): ${(e as Error).message}`,
    };
  }
  const named = `the published checkpoint ${source} has tree size ${cp.size}`;
  if (cp.size > head.size) return { kind: 'stale', detail: `${named}, larger than this copy's ${head.size}` };
  if (cp.size < head.size)
    return {
      kind: 'refused',
      detail: `${named}, older than this copy's ${head.size}: it cannot show this copy is the newest`,
    };
  if (!equalBytes(cp.rootHash, head.rootHash))
    return { kind: 'refused', detail: `${named}, this copy's size, with another root hash: one of them is a fork` };
  return { kind: 'newest', detail: `${named} and the root hash of this copy` };
}
