/**
 * Tampered add-checkpoint requests (verifier/witness/witness.ts, C2SP tlog-witness v1.0.0, docs/PROTOCOL.md 18.2):
 * a witness that cosigned a log at size 37 is sent the log's checkpoint at 91 with every bit of the log signature
 * line's key ID and signature flipped, every bit of each byte of its key name and of the origin line flipped, every
 * bit of the tree size and of the root hash changed under the same signature, the old size off by one or with any
 * bit flipped, and fields swapped (another witnessed origin, another key name or key ID, an extension line). Each is
 * refused with the exact status and body the specification gives, and the witness keeps size 37. Signature lines
 * of unknown keys are ignored (C2SP signed-note), so adding, reordering or repeating them is accepted. A
 * checkpoint of size 0 whose root is not the empty tree's is refused (422), and does not stop the witness.
 */
import { describe, expect, it } from 'vitest';
import { toHex, u32be, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import {
  ed25519NoteSigner,
  formatSignatureLine,
  openNote,
  parseVerifierKey,
  splitNote,
  type NoteSignature,
} from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { addCheckpointBody } from '../../../verifier/formats/add-checkpoint.js';
import { formatCheckpoint, signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { proveTree, treeHash } from '../../../verifier/formats/tlog.js';
import { Witness } from '../../../verifier/witness/witness.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';
import { MemoryHashStore, records } from '../../helpers/log.js';

const ORIGIN = 'example.com/tamper-log';
const OTHER = 'example.com/other-log';
const logSigner = ed25519NoteSigner(ORIGIN, sha256(utf8('tamper log key')));
const otherSigner = ed25519NoteSigner(OTHER, sha256(utf8('other log key')));
const witnessSigner = cosigner('witness.example/w1', sha256(utf8('witness key')), () => 1_800_000_000n);
const OLD = 37;
const NEW = 91;

const tree = new MemoryHashStore();
for (const r of records(0, 100)) tree.append(r);
const root = (size: number) => treeHash(size, tree);
const PROOF = proveTree(NEW, OLD, tree);
const NOTE = signCheckpoint({ origin: ORIGIN, size: NEW, rootHash: root(NEW) }, logSigner);
const { text: TEXT, signatures } = splitNote(utf8(NOTE));
const LOG_SIG = signatures[0];

const INVALID = `no trusted signature verifies: invalid signature by ${ORIGIN}+${toHex(u32be(logSigner.keyId))}\n`;
const UNTRUSTED = 'no trusted signature verifies: no signature by a trusted key\n';
const NOT_UTF8 = 'note is not valid UTF-8\n';
const CONTROL = 'note contains a control character\n';
const BAD_LINE = 'malformed signature line\n';

/** A witness of ORIGIN and OTHER that cosigned ORIGIN at size OLD. */
async function primed() {
  const store = new MemoryWitnessStore();
  const w = new Witness({
    cosigner: witnessSigner,
    logs: [
      { origin: ORIGIN, keys: [parseVerifierKey(logSigner.verifierKey)] },
      { origin: OTHER, keys: [parseVerifierKey(otherSigner.verifierKey)] },
    ],
    store,
  });
  const first = signCheckpoint({ origin: ORIGIN, size: OLD, rootHash: root(OLD) }, logSigner);
  expect((await w.addCheckpoint(addCheckpointBody(0, [], first))).status).toBe(200);
  return { w, store };
}

/** The note `text` with the given signature lines. */
const noteOf = (sigs: NoteSignature[], text = TEXT) => `${text}\n${sigs.map(formatSignatureLine).join('')}`;

/** A request from OLD to NEW carrying `note` (the genuine proof). */
const request = (note: string, old = OLD) => addCheckpointBody(old, PROOF, note);

/** Expects a fresh primed witness to answer `body` with `status` and exactly `reason`, keeping size OLD. */
async function expectRefused(body: Uint8Array, status: number, reason: string, label: string) {
  const { w, store } = await primed();
  const res = await w.addCheckpoint(body);
  const contentType = status === 409 ? 'text/x.tlog.size' : 'text/plain; charset=utf-8';
  expect({ ...res, kept: store.records.get(ORIGIN)?.size }, label).toEqual({
    status,
    contentType,
    body: reason,
    kept: OLD,
  });
}

/** A copy of `bytes` with bit `bit` of byte `at` flipped. */
function flipped(bytes: Uint8Array, at: number, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] ^= 1 << bit;
  return copy;
}

/** Each single-bit flip of each byte of `part` (found after `after` in the genuine request), with the new byte. */
function* byteFlips(part: string, after: string) {
  const body = request(NOTE);
  const noteAt = body.length - utf8(NOTE).length;
  const start = noteAt + utf8(NOTE.slice(0, NOTE.indexOf(part, NOTE.indexOf(after)))).length;
  for (let i = 0; i < part.length; i++)
    for (let bit = 0; bit < 8; bit++) {
      const b = body[start + i] ^ (1 << bit);
      yield { i, bit, b, body: flipped(body, start + i, bit), label: `byte ${i} bit ${bit}` };
    }
}

/** What signed-note refuses a note for once byte `b` is in it (C2SP signed-note "Format"), else null. */
function noteFault(b: number): string | null {
  if (b >= 0x80) return NOT_UTF8;
  if (b < 0x20 && b !== 0x0a) return CONTROL;
  return null;
}

/** The same for a byte of a key name: no Unicode space, no plus, no control character. */
const keyNameFault = (b: number) =>
  noteFault(b) ?? (b === 0x0a || b === 0x20 || b === 0x2b || b === 0x7f ? BAD_LINE : null);

/** Each single-bit flip of the 53 bits of a safe integer `n` below 2^31. */
const bitFlips = (n: number) => Array.from({ length: 53 }, (_, bit) => (bit < 31 ? n ^ (1 << bit) : n + 2 ** bit));

describe('the witness refuses tampered add-checkpoint requests', () => {
  it('cosigns the genuine request (the baseline every tamper below is a change of)', async () => {
    const { w, store } = await primed();
    expect((await w.addCheckpoint(request(NOTE))).status).toBe(200);
    expect(store.records.get(ORIGIN)?.size).toBe(NEW);
  });

  it("refuses every bit flip of the log signature's key ID (403, no trusted signature) and signature (403, invalid)", async () => {
    for (let bit = 0; bit < 32; bit++) {
      const sig = { ...LOG_SIG, keyId: (LOG_SIG.keyId ^ (1 << bit)) >>> 0 };
      await expectRefused(request(noteOf([sig])), 403, UNTRUSTED, `key ID bit ${bit}`);
    }
    for (let bit = 0; bit < LOG_SIG.signature.length * 8; bit++) {
      const sig = { ...LOG_SIG, signature: flipped(LOG_SIG.signature, bit >> 3, bit & 7) };
      await expectRefused(request(noteOf([sig])), 403, INVALID, `signature bit ${bit}`);
    }
  });

  it("refuses every bit flip of the log signature's key name: 400 if the line is malformed, else 403", async () => {
    for (const { b, body, label } of byteFlips(ORIGIN, '\n\n')) {
      const fault = keyNameFault(b);
      await expectRefused(body, fault ? 400 : 403, fault ?? UNTRUSTED, label);
    }
  });

  it('refuses every bit flip of the origin line: 400 if malformed, else 404 (an origin it does not witness)', async () => {
    for (const { i, b, body, label } of byteFlips(ORIGIN, ORIGIN)) {
      const origin = ORIGIN.slice(0, i) + String.fromCharCode(b) + ORIGIN.slice(i + 1);
      const split =
        i === 0
          ? 'empty origin\n'
          : `malformed checkpoint: not a canonical decimal: ${JSON.stringify(ORIGIN.slice(i + 1))}\n`;
      const reason = noteFault(b) ?? (b === 0x0a ? split : `unknown log origin ${JSON.stringify(origin)}\n`);
      await expectRefused(body, b === 0x0a || noteFault(b) ? 400 : 404, reason, label);
    }
  });

  it('refuses every bit of the tree size and of the root hash changed under the same signature (403)', async () => {
    for (const size of bitFlips(NEW)) {
      const text = formatCheckpoint({ origin: ORIGIN, size, rootHash: root(NEW) });
      await expectRefused(request(noteOf([LOG_SIG], text)), 403, INVALID, `size ${size}`);
    }
    for (let bit = 0; bit < 256; bit++) {
      const text = formatCheckpoint({ origin: ORIGIN, size: NEW, rootHash: flipped(root(NEW), bit >> 3, bit & 7) });
      await expectRefused(request(noteOf([LOG_SIG], text)), 403, INVALID, `root bit ${bit}`);
    }
    const older = formatCheckpoint({ origin: ORIGIN, size: OLD, rootHash: root(OLD) }); // a replayed text
    await expectRefused(addCheckpointBody(OLD, [], noteOf([LOG_SIG], older)), 403, INVALID, 'text of size 37');
  });

  it("refuses an old size that is not the witness's latest: 409 with its size, or 400 above the checkpoint's", async () => {
    for (const old of [OLD - 1, OLD + 1, ...bitFlips(OLD)]) {
      const above = old > NEW;
      const reason = above ? `old size ${old} is above the checkpoint size ${NEW}\n` : `${OLD}\n`;
      await expectRefused(request(NOTE, old), above ? 400 : 409, reason, `old ${old}`);
    }
    // The latest size is kept per origin: OTHER was never cosigned, so its latest is 0.
    const other = signCheckpoint({ origin: OTHER, size: NEW, rootHash: root(NEW) }, otherSigner);
    await expectRefused(request(other), 409, '0\n', 'old 37 for another origin');
  });

  it('refuses a checkpoint moved to another origin, another key name or key ID, or an extra line (403)', async () => {
    const otherText = formatCheckpoint({ origin: OTHER, size: NEW, rootHash: root(NEW) });
    const cases: [string, string][] = [
      ["ORIGIN's signature under OTHER's text", noteOf([LOG_SIG], otherText)],
      [
        "OTHER's text signed by ORIGIN's key",
        signCheckpoint({ origin: OTHER, size: NEW, rootHash: root(NEW) }, logSigner),
      ],
      [
        "ORIGIN's text signed by OTHER's key",
        signCheckpoint({ origin: ORIGIN, size: NEW, rootHash: root(NEW) }, otherSigner),
      ],
      ['key name of OTHER', noteOf([{ ...LOG_SIG, name: OTHER }])],
      ['key name of the witness', noteOf([{ ...LOG_SIG, name: witnessSigner.name }])],
      ['key name with a suffix', noteOf([{ ...LOG_SIG, name: `${ORIGIN}/x` }])],
      ["key ID of OTHER's key", noteOf([{ ...LOG_SIG, keyId: otherSigner.keyId }])],
      ["key ID of the witness's key", noteOf([{ ...LOG_SIG, keyId: witnessSigner.keyId }])],
    ];
    for (const [what, note] of cases) await expectRefused(request(note), 403, UNTRUSTED, what);
    const extended = `${TEXT}extension line\n`;
    await expectRefused(request(noteOf([LOG_SIG], extended)), 403, INVALID, 'an extension line added');
    const blank = noteOf([LOG_SIG], `${TEXT}\n`);
    await expectRefused(request(blank), 400, 'empty extension line\n', 'an empty line added');
  });

  // C2SP signed-note "Signatures": "Verifiers MUST ignore signatures from unknown keys, even if they share a name or
  // ID (but not both) with a known key." So these changes are accepted, and the cosignature is over the same text.
  it('accepts signature lines of unknown keys added, reordered or repeated, as signed-note requires', async () => {
    const unknown: NoteSignature[] = [
      { name: 'unknown.example', keyId: 7, signature: new Uint8Array(64).fill(1) },
      { name: ORIGIN, keyId: (LOG_SIG.keyId ^ 1) >>> 0, signature: new Uint8Array(64).fill(2) },
      { name: OTHER, keyId: LOG_SIG.keyId, signature: new Uint8Array(72).fill(3) },
    ];
    const notes = [noteOf([...unknown, LOG_SIG]), noteOf([LOG_SIG, ...unknown]), noteOf([LOG_SIG, LOG_SIG])];
    for (const note of notes) {
      const { w, store } = await primed();
      const res = await w.addCheckpoint(request(note));
      expect(res.status, note).toBe(200);
      expect(store.records.get(ORIGIN)?.size).toBe(NEW);
      const cosigned = openNote(NOTE + res.body, [parseCosignerKey(witnessSigner.verifierKey)]);
      expect(cosigned.verified.map((s) => s.name)).toEqual([witnessSigner.name]);
    }
  });
});

describe('the witness and the empty tree', () => {
  it("refuses a log-signed checkpoint of size 0 whose root is not the empty tree's, and is not stuck by it", async () => {
    const store = new MemoryWitnessStore();
    const w = new Witness({
      cosigner: witnessSigner,
      logs: [{ origin: ORIGIN, keys: [parseVerifierKey(logSigner.verifierKey)] }],
      store,
    });
    const forged = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: root(NEW) }, logSigner);
    expect(await w.addCheckpoint(addCheckpointBody(0, [], forged))).toEqual({
      status: 422,
      contentType: 'text/plain; charset=utf-8',
      body: "a tree of size 0 has the empty tree's root hash, SHA-256 of nothing\n",
    });
    expect(store.records.get(ORIGIN)).toBeUndefined();
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: root(0) }, logSigner);
    expect((await w.addCheckpoint(addCheckpointBody(0, [], empty))).status).toBe(200);
    expect((await w.addCheckpoint(addCheckpointBody(0, [], NOTE))).status).toBe(200);
    expect(store.records.get(ORIGIN)?.size).toBe(NEW);
  });
});
