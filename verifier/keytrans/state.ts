/**
 * The KEYTRANS client's state between runs (draft-ietf-keytrans-protocol-05, "User Operations": the last tree head
 * and auditor tree head, the log tree's full subtrees and the frontier's log entries, and per label its contact
 * monitoring map, its owner state and the keys retained of its versions), as JSON text kept through the same
 * two-method store as the lookup client's checkpoint (`TextStore`, shaped as verifier/client/checkpoint-store.ts's
 * `CheckpointStore`, so its memory and `localStorage` stores serve here too). Reading is strict: a field missing,
 * unknown or of the wrong type, a hex string of the wrong length, a number that is not a safe integer, or full
 * subtrees and a frontier that do not fit the tree size, and the text is refused (`kt_bad_state`) rather than
 * half-read: a client that trusted a damaged state could accept a fork. Labels are keyed by their bytes in hex.
 */
import { fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import type { GlobalState } from './head.js';
import type { LabelState } from './label-state.js';
import { fullSubtreeRanges } from './log-tree.js';
import type { RetainedVersion } from './monitor.js';
import { frontier } from './search-tree.js';

/** Text kept between runs; `load` gives undefined when nothing was saved yet. */
export interface TextStore {
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

export type { LabelState };

/** Everything the client keeps of one deployment. */
export interface ClientState {
  global: GlobalState | null;
  labels: Map<string, LabelState>;
}

const FORMAT = 1;

const bad = (message: string): never => {
  throw new KeyTransError('kt_bad_state', `the KEYTRANS client state is malformed: ${message}`);
};

/** The state as the JSON text it is stored as. */
export function encodeState(state: ClientState): string {
  const g = state.global;
  const hex = (b: Uint8Array) => toHex(b);
  return JSON.stringify({
    format: FORMAT,
    global: g && {
      treeHead: { treeSize: g.treeHead.treeSize, signature: hex(g.treeHead.signature) },
      auditorTreeHead: g.auditorTreeHead && { ...g.auditorTreeHead, signature: hex(g.auditorTreeHead.signature) },
      fullSubtrees: g.fullSubtrees.map(hex),
      frontier: g.frontier.map((e) => ({
        position: e.position,
        timestamp: e.timestamp,
        prefixTree: hex(e.prefixTree),
      })),
    },
    labels: Object.fromEntries(
      [...state.labels].map(([label, l]) => [
        label,
        {
          contact: l.contact,
          owner: l.owner,
          retained: [...l.retained].map(([version, r]) => ({
            version,
            vrfOutput: hex(r.vrfOutput),
            commitment: r.commitment && hex(r.commitment),
          })),
        },
      ]),
    ),
  });
}

type Json = Record<string, unknown>;

function object(v: unknown, what: string, keys: string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`${what} is not an object`);
  const extra = Object.keys(v).filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !(k in v));
  if (extra.length > 0 || missing.length > 0)
    bad(`${what} has fields ${Object.keys(v).join(', ')}, not ${keys.join(', ')}`);
  return v as Json;
}

function integer(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    return bad(`${what} is not an integer in range`);
  return v;
}

function bytes(v: unknown, what: string, length?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) return bad(`${what} is not lowercase hex`);
  const b = fromHex(v);
  if (length !== undefined && b.length !== length) bad(`${what} is ${b.length} bytes, not ${length}`);
  return b;
}

function array(v: unknown, what: string): unknown[] {
  return Array.isArray(v) ? v : bad(`${what} is not an array`);
}

function readGlobal(v: unknown): GlobalState | null {
  if (v === null) return null;
  const g = object(v, 'global', ['treeHead', 'auditorTreeHead', 'fullSubtrees', 'frontier']);
  const th = object(g.treeHead, 'treeHead', ['treeSize', 'signature']);
  const treeSize = integer(th.treeSize, 'treeHead.treeSize');
  if (treeSize < 1) bad('treeHead.treeSize is 0');
  const ath =
    g.auditorTreeHead === null
      ? null
      : object(g.auditorTreeHead, 'auditorTreeHead', ['timestamp', 'treeSize', 'signature']);
  const fullSubtrees = array(g.fullSubtrees, 'fullSubtrees').map((h, i) => bytes(h, `fullSubtrees[${i}]`, 32));
  if (fullSubtrees.length !== fullSubtreeRanges(treeSize).length) bad('fullSubtrees do not fit the tree size');
  const entries = array(g.frontier, 'frontier').map((e, i) => {
    const o = object(e, `frontier[${i}]`, ['position', 'timestamp', 'prefixTree']);
    const entry = { position: integer(o.position, 'position'), timestamp: integer(o.timestamp, 'timestamp') };
    return { ...entry, prefixTree: bytes(o.prefixTree, 'prefixTree', 32) };
  });
  if (entries.map((e) => e.position).join() !== frontier(treeSize).join())
    bad('the frontier does not fit the tree size');
  return {
    treeHead: { treeSize, signature: bytes(th.signature, 'treeHead.signature') },
    auditorTreeHead: ath && {
      timestamp: integer(ath.timestamp, 'auditorTreeHead.timestamp'),
      treeSize: integer(ath.treeSize, 'auditorTreeHead.treeSize'),
      signature: bytes(ath.signature, 'auditorTreeHead.signature'),
    },
    fullSubtrees,
    frontier: entries,
  };
}

function readLabel(v: unknown, label: string): LabelState {
  const l = object(v, `label ${label}`, ['contact', 'owner', 'retained']);
  const contact = array(l.contact, 'contact').map((e, i) => {
    const o = object(e, `contact[${i}]`, ['position', 'version']);
    return { position: integer(o.position, 'position'), version: integer(o.version, 'version', 2 ** 32 - 1) };
  });
  const o = l.owner === null ? null : object(l.owner, 'owner', ['starting', 'versionAtStarting']);
  const owner = o && {
    starting: integer(o.starting, 'owner.starting'),
    versionAtStarting:
      o.versionAtStarting === null ? null : integer(o.versionAtStarting, 'versionAtStarting', 2 ** 32 - 1),
  };
  const retained = new Map<number, RetainedVersion>();
  for (const [i, r] of array(l.retained, 'retained').entries()) {
    const x = object(r, `retained[${i}]`, ['version', 'vrfOutput', 'commitment']);
    const version = integer(x.version, 'retained version', 2 ** 32 - 1);
    if (retained.has(version)) bad(`retained version ${version} twice`);
    const commitment = x.commitment === null ? null : bytes(x.commitment, 'commitment', 32);
    retained.set(version, { vrfOutput: bytes(x.vrfOutput, 'vrfOutput', 32), commitment });
  }
  return { contact, owner, retained };
}

/** The state the text holds, read strictly (see the file comment); a new client's when `text` is undefined. */
export function decodeState(text: string | undefined): ClientState {
  if (text === undefined) return { global: null, labels: new Map() };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  const s = object(parsed, 'the state', ['format', 'global', 'labels']);
  if (s.format !== FORMAT) bad(`format ${String(s.format)}, not ${FORMAT}`);
  const labels = new Map<string, LabelState>();
  for (const [label, l] of Object.entries(object(s.labels, 'labels', Object.keys(s.labels ?? {})))) {
    bytes(label, 'a label');
    labels.set(label, readLabel(l, label));
  }
  return { global: readGlobal(s.global), labels };
}
