/**
 * Tampering with evidence files (`verifyEvidence`, verifier/verification/evidence.ts), each kind in turn: a valid
 * file proves or shows its claim; then every byte of every hash and signature flipped (checkpoint and receipt
 * notes' root, label, statement hash and signature, the fork's prefix root and consistency proof, and every hash,
 * signature, VRF proof, opening and commitment of the stored proofs with the history hash the file starts from),
 * the notes' texts changed, and fields swapped between files. Each is refused with `evidence_invalid`, and where
 * a check of the stored proof failed the message names its code in parentheses, e.g. "(bad_history)".
 * Accepted, as they may be: what a file records but no signature covers (a rollback's `observedAt`, an audit
 * failure's `code`), the fork's two checkpoints in either order, a rollback to a checkpoint of another tree (a
 * rollback is shown, whatever the older tree), and the owner's key list, which is the owner's word.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { proveHistory } from '../../../log/directory/proof-builder.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { commitment, signedStatementBytes } from '../../../verifier/formats/directory-hashes.js';
import { decodeMapProof } from '../../../verifier/formats/map-proof.js';
import { monitorToJson } from '../../../verifier/formats/proof-json.js';
import { proveTree } from '../../../verifier/formats/tlog.js';
import { verifyEvidence } from '../../../verifier/verification/evidence.js';
import { brokenReceiptEvidence } from '../../../verifier/verification/receipt-check.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  publishVersion,
  statementFor,
} from '../../helpers/directory.js';
import { errorCode } from '../../helpers/error-code.js';
import { MemoryHashStore, ORIGIN, records, rootOf } from '../../helpers/log.js';
import { parties } from '../../attacks/malicious.js';

type Mutant = { path: string; value: unknown };
type File = Record<string, any>;
type Case = [what: string, file: File, outcome: string];

const flip = (b: Uint8Array, i: number) => b.map((x, j) => (j === i ? x ^ (1 << (i % 8)) : x));
const flips = (b64: string) => [...fromBase64(b64)].map((_, i) => toBase64(flip(fromBase64(b64), i)));

/** Every byte of a note's base64 lines flipped in turn: the text's (root, label, statement hash) and the signature's. */
function noteFlips(note: string): string[] {
  const lines = note.split('\n');
  return lines.flatMap((line, n) => {
    const sig = line.startsWith('— ');
    const at = sig ? line.lastIndexOf(' ') + 1 : 0;
    if (!sig && !/^[A-Za-z0-9+/]{43}=$/.test(line)) return [];
    return flips(line.slice(at)).map((b) => lines.map((l, j) => (j === n ? line.slice(0, at) + b : l)).join('\n'));
  });
}

const NOTE = /(^\.(accepted|offered|checkpoint|target|receipt)|\.epoch\.checkpoint)$/;
const HASH =
  /\.(vrfProof|signature|opening|previousHistory|commitment|map|historyHash|sinceHistory|prefixRoot|headProof|proof)$|\.proof\[\d+\]$/;

/** Every flip of a byte of a hash or signature of a file, at any depth (strings only: JSON as stored). */
function byteFlips(value: unknown, path = ''): Mutant[] {
  if (typeof value === 'string') {
    if (NOTE.test(path)) return noteFlips(value).map((v, i) => ({ path: `${path}#${i}`, value: v }));
    if (!HASH.test(path)) return [];
    return flips(value).map((v, i) => ({ path: `${path}[${i}]`, value: v }));
  }
  if (Array.isArray(value))
    return value.flatMap((v, i) =>
      byteFlips(v, `${path}[${i}]`).map((m) => ({ path: m.path, value: value.map((x, j) => (j === i ? m.value : x)) })),
    );
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) =>
      byteFlips(v, `${path}.${k}`).map((m) => ({ path: m.path, value: { ...value, [k]: m.value } })),
    );
  return [];
}

/** The code a flip inside a stored proof fails with, named in the message (none for the file's own notes). */
const INNER: [RegExp, string][] = [
  [/^\.(accepted|offered|checkpoint|target|receipt|prefixRoot|proof\[)/, ''],
  [/\.vrfProof\[/, 'bad_vrf'],
  [/\.epoch\.checkpoint#/, 'bad_checkpoint'],
  [/\.headProof\[/, 'bad_epoch_inclusion'],
  [/\.enrolment\.proof\[/, 'bad_enrolment'],
  [/\.signature\[/, 'bad_provider_signature'],
  [/\.lookup\.present\.(opening|previousHistory)\[/, 'bad_map_proof'],
  [/\.(opening|commitment|historyHash)\[|^\.sinceHistory\[/, 'bad_history'],
];

/** The expected outcome of a flip: a map proof that no longer decodes is the file's failure (no inner code). */
function expectedOf({ path, value }: Mutant): string {
  if (/\.lookup\.map\[/.test(path)) {
    const map = ((value as File).proof?.history ?? (value as File).history).lookup.map;
    return errorCode(() => decodeMapProof(fromBase64(map))) === 'no error'
      ? 'evidence_invalid (bad_map_proof)'
      : 'evidence_invalid';
  }
  const inner = INNER.find(([re]) => re.test(path))?.[1];
  return inner === undefined ? `no rule for ${path}` : inner ? `evidence_invalid (${inner})` : 'evidence_invalid';
}

let pins: { origin: string; logKey: typeof parties.logKey; vrfKey: Uint8Array };

/** What a file establishes ("kind proven" or "kind shown"), or its code with the inner code of the message. */
function outcome(e: unknown): string {
  try {
    const v = verifyEvidence(e, pins);
    return `${v.kind} ${v.proven ? 'proven' : 'shown'}`;
  } catch (err) {
    const { code, message } = err as { code: string; message: string };
    const inner = /^the evidence does not hold \((\w+)\)/.exec(message)?.[1];
    return inner ? `${code} (${inner})` : code;
  }
}

/** The flips of `file` whose outcome is not the expected one; asserts there are some, and that the file holds. */
function wrongFlips(file: File, holds: string): { path: string; want: string; got: string }[] {
  expect(outcome(file)).toBe(holds);
  const ms = byteFlips(file);
  expect(ms.length).toBeGreaterThan(100);
  return ms.map((m) => ({ path: m.path, want: expectedOf(m), got: outcome(m.value) })).filter((r) => r.want !== r.got);
}

/** A checkpoint of the first `n` of `entries`, signed by the log key. */
const cp = (entries: Uint8Array[], n: number) =>
  signCheckpoint({ origin: ORIGIN, size: n, rootHash: rootOf(entries.slice(0, n)) }, logSignerForTests);
const base = { type: 'kt-evidence/v1', origin: ORIGIN, observedAt: '2026-11-26T00:00:00Z' };

/** Text tampers of a signed note under its signature: a number moved, a line added, another origin, no signature. */
function textTampers(note: string): string[] {
  return [
    note.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`),
    note.replace('\n\n', '\nextension line\n\n'),
    note.replaceAll(ORIGIN, 'example.com/other-log'),
    note.replace(/\n\n.*$/s, '\n\n'),
  ];
}

/** The file with the note in `field` changed under its signature, in each way of `textTampers`. */
const noteTampers = (f: File, field: string): Case[] =>
  textTampers(f[field]).map((n, i) => [`${field} #${i}`, { ...f, [field]: n }, 'evidence_invalid']);

/** Logs of `records`: an honest one of 12 entries, and a fork of 8 that differs from the 4th entry on. */
const honest = records(0, 12);
const forked = [...records(0, 3), ...records(100, 5)];

async function build() {
  // A receipt for r@ version 2, then the queue lost (what it exists to prevent) and another version 2.
  const first = await openTestDirectory();
  const chat = await enrolProvider(first, 'chat.example');
  await publishVersion(first, chat, 'r@chat.example', 1);
  const s = chat.sign(statementFor(chat, 'r@chat.example', 2, [identityKey()], first.clock.now));
  const body = JSON.stringify({ statements: [{ statement: toBase64(s.statement), signature: toBase64(s.signature) }] });
  const headers = { 'Content-Type': 'application/json' };
  const res = await appOver(first).request('/v1/bindings', { method: 'POST', body, headers });
  expect(res.status).toBe(202);
  const receipt = ((await res.json()) as { results: { receipt: string }[] }).results[0].receipt;
  first.db.prepare('DELETE FROM dir_queue').run();
  const t = await first.reopen();
  await publishVersion(t, chat, 'r@chat.example', 2);
  await enrolProvider(t, 'talk.example'); // a credential set of two: enrolment proofs of one hash
  const mine = identityKey();
  await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 1, [mine], t.clock.now)));
  await publishVersion(t, chat, 'own@chat.example', 2); // a key the owner did not make
  for (const v of [1, 2, 3]) await publishVersion(t, chat, 'gone@chat.example', v, v === 3);
  for (let i = 0; i < 4; i++) await publishVersion(t, chat, `u${i}@chat.example`, 1); // map proofs with steps
  pins = { origin: ORIGIN, logKey: parties.logKey, vrfKey: t.dir.vrfPublicKey };
  const history = (a: string, since: number) => proveHistory(t.dir, 'chat.example', a, since);
  const rHistory = await history('r@chat.example', 1);
  const named = (account: string) => ({ ...base, provider: 'chat.example', account });
  return {
    receiptFile: brokenReceiptEvidence({
      origin: ORIGIN,
      logKey: logSignerForTests.verifierKey,
      server: 'http://kt.test',
      provider: 'chat.example',
      account: 'r@chat.example',
      receipt,
      proof: { history: rHistory, sinceHistory: rHistory.lookup.present!.previousHistory },
    }) as File,
    unexpected: {
      ...named('own@chat.example'),
      kind: 'unexpected_key',
      ownerKeys: [toBase64(mine.publicKey)],
      since: { version: 0, historyHash: toBase64(new Uint8Array(32)) },
      proof: monitorToJson({ history: await history('own@chat.example', 0) }),
    } as File,
    erased: {
      ...named('gone@chat.example'),
      kind: 'unverifiable_version',
      since: { version: 0, historyHash: toBase64(new Uint8Array(32)) },
      proof: monitorToJson({ history: await history('gone@chat.example', 0) }),
    } as File,
  };
}

let w: Awaited<ReturnType<typeof build>>;
beforeAll(async () => {
  w = await build();
}, 120_000);

describe('evidence files of the log', () => {
  const store = new MemoryHashStore();
  for (const e of forked) store.append(e);
  const fork = {
    ...base,
    kind: 'fork',
    accepted: cp(honest, 5),
    offered: cp(forked, 8),
    prefixRoot: toBase64(rootOf(forked.slice(0, 5))),
    proof: proveTree(8, 5, store).map(toBase64),
  };
  const sameSize = { ...base, kind: 'fork', accepted: cp(honest, 8), offered: cp(forked, 8) };
  const rollback = { ...base, kind: 'rollback', accepted: cp(honest, 12), offered: cp(honest, 5) };
  const audit = { ...base, kind: 'audit_failure', checkpoint: cp(honest, 8), target: cp(honest, 12), code: 'x' };

  it('are refused for every byte of a hash or signature flipped', () => {
    for (const [file, holds] of [
      [fork, 'fork proven'],
      [sameSize, 'fork proven'],
      [rollback, 'rollback shown'],
      [audit, 'audit_failure shown'],
    ] as const)
      expect(wrongFlips(file, holds), holds).toEqual([]);
  });

  it('are refused for notes changed under their signatures and fields swapped, bar what no signature covers', () => {
    const cases: Case[] = [
      ...noteTampers(fork, 'accepted'),
      ...noteTampers(fork, 'offered'),
      ...noteTampers(audit, 'target'),
      ['the proof reversed', { ...fork, proof: [...fork.proof].reverse() }, 'evidence_invalid'],
      ['the proof extended', { ...fork, proof: [...fork.proof, fork.proof[0]] }, 'evidence_invalid'],
      ['the honest prefix root', { ...fork, prefixRoot: toBase64(rootOf(honest.slice(0, 5))) }, 'evidence_invalid'],
      ["the honest log's larger tree", { ...fork, offered: rollback.accepted }, 'evidence_invalid'],
      ["a rollback's checkpoints as a fork", { ...fork, ...rollback, kind: 'fork' }, 'evidence_invalid'],
      ['the same-size fork with one tree', { ...sameSize, offered: sameSize.accepted }, 'evidence_invalid'],
      [
        'a rollback to a newer tree',
        { ...rollback, accepted: rollback.offered, offered: cp(honest, 8) },
        'evidence_invalid',
      ],
      ['a rollback between trees of one size', { ...rollback, ...sameSize, kind: 'rollback' }, 'evidence_invalid'],
      ['no audited checkpoint', { ...audit, checkpoint: undefined, accepted: audit.checkpoint }, 'evidence_invalid'],
      // Accepted: the two orders say the same; a rollback is shown from any older signed tree (a fork's too);
      // when it was observed and what an audit failed with are the writer's word (shown, not proven).
      ['the fork reversed', { ...fork, accepted: fork.offered, offered: fork.accepted }, 'fork proven'],
      ['a rollback to a forked tree', { ...rollback, offered: fork.offered }, 'rollback shown'],
      ['observedAt changed', { ...rollback, observedAt: 'never' }, 'rollback shown'],
      ['the audit code changed', { ...audit, code: 'replay_map_root' }, 'audit_failure shown'],
    ];
    expect(cases.map(([what, f]) => [what, outcome(f)])).toEqual(cases.map(([what, , c]) => [what, c]));
  });
});

describe('evidence files of an account', () => {
  it('are refused for every byte of a hash or signature flipped, with the code of the check that failed', () => {
    expect(wrongFlips(w.unexpected, 'unexpected_key proven')).toEqual([]);
    expect(wrongFlips(w.erased, 'unverifiable_version shown')).toEqual([]);
    expect(wrongFlips(w.receiptFile, 'broken_receipt proven')).toEqual([]);
  }, 120_000);

  it('are refused for notes changed and fields swapped between files, bar the owner’s word', () => {
    const [u, e, r] = [w.unexpected, w.erased, w.receiptFile];
    const [gone, own] = [e.proof.history, u.proof.history];
    const deletionErased = { ...gone.lookup, present: { version: 3, commitment: gone.versions[0].commitment } };
    // Own's version 1 as if erased, with its true commitment, though no later version deleted the account.
    const v1 = (k: string) => fromBase64(own.versions[0][k]);
    const c1 = toBase64(commitment(v1('opening'), signedStatementBytes(v1('statement'), v1('signature'))));
    const fakeErasure = { history: { ...own, versions: [{ version: 1, commitment: c1 }] } };
    const [asUnexpected, asErased] = [
      { kind: 'unexpected_key', ownerKeys: u.ownerKeys },
      { kind: 'unverifiable_version' },
    ];
    const rSince = { version: 1, historyHash: r.sinceHistory };
    const ownInR = { history: own, sinceHistory: u.since.historyHash };
    const cases: Case[] = [
      ...noteTampers(r, 'receipt'),
      ['the erased proof as unexpected_key', { ...u, ...e, ...asUnexpected }, 'evidence_invalid'],
      ['an erasure without a deletion', { ...u, ...asErased, proof: fakeErasure }, 'evidence_invalid (bad_history)'],
      ["the erased proof for own's account", { ...u, proof: e.proof }, 'evidence_invalid (wrong_account)'],
      ['no version erased', { ...e, ...u, ...asErased }, 'evidence_invalid'],
      ["the receipt file's since", { ...e, since: rSince }, 'evidence_invalid'],
      [
        'the deletion (latest) erased',
        { ...e, proof: { history: { ...gone, lookup: deletionErased } } },
        'evidence_invalid',
      ],
      [
        "the receipt's history since 0",
        { ...r, history: { ...r.history, since: 0 } },
        'evidence_invalid (bad_history)',
      ],
      ['sinceHistory a number', { ...r, sinceHistory: 7 }, 'evidence_invalid'],
      ['sinceHistory dropped (zeros)', { ...r, sinceHistory: undefined }, 'evidence_invalid (bad_history)'],
      ['sinceHistory of 31 bytes', { ...r, sinceHistory: toBase64(new Uint8Array(31)) }, 'evidence_invalid'],
      ["own's history for the receipt", { ...r, ...ownInR }, 'evidence_invalid (wrong_account)'],
      ["own's history, named own's", { ...r, ...ownInR, account: u.account }, 'evidence_invalid (wrong_account)'],
      // The receipt's other version 2 binds a key the owner's list lacks: that list is the owner's word (proven).
      [
        "the receipt's history as unexpected_key",
        { ...r, ...asUnexpected, since: rSince, proof: { history: r.history } },
        'unexpected_key proven',
      ],
    ];
    expect(cases.map(([what, f]) => [what, outcome(f)])).toEqual(cases.map(([what, , c]) => [what, c]));
  });
});
