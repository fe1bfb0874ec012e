/**
 * The KEYTRANS client's anchor check (verifier/keytrans-anchor/anchor.ts, docs/PROTOCOL.md section 22.7) against a
 * real test directory with two KEYTRANS deployments: the head the client verified passes against the served
 * anchor, an anchor of an earlier epoch is `anchor_older_head` (the reverse `anchor_newer_head`). Each field of the
 * provider's anchored head changed in a log the operator signs and the witness cosigns (the operator's own split
 * view) is refused with its branch's code: the tree size (`anchor_older_head`, `anchor_newer_head`), each byte of
 * the root or of the signature alone, each bit of the newest entry's timestamp and each byte of its prefix root
 * (the second `anchor_head_mismatch` branch), a field of another head, the provider's name, a changed head named
 * first beside the honest one. The client's state changed the same way is refused too; what is accepted (a
 * second head of the provider, frontier entries the anchor does not name) is asserted with the reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';
import { entriesOf } from '../../attacks/malicious.js';
import { headsAt } from '../../helpers/keytrans-log.js';
import { ORIGIN } from '../../helpers/log.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { encodeEntry, type KeyTransHead } from '../../../verifier/formats/entries.js';
import { pathFromLeafHashes, recordHash, rootFromLeafHashes } from '../../../verifier/formats/tlog.js';
import { KeyTransHistory } from '../../../verifier/keytrans-anchor/history.js';
import {
  type KeyTransAnchor,
  parseKeyTransAnchor,
  verifyKeyTransAnchor,
} from '../../../verifier/keytrans-anchor/anchor.js';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import { decodeMessage, encodeMessage, KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { decodeConfiguration, encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import type { Configuration, SearchRequest } from '../../../verifier/keytrans/types.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { cosignatureVerifier, cosigner, makeCosignature } from '../../../wasm-free-crypto/cosignature.js';
import { appendSignatures, parseVerifierKey, splitNote } from '../../../wasm-free-crypto/note.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const PROVIDER = 'chat.example';
const witness = cosigner('witness.example/w1', new Uint8Array(32).fill(9));

let t: TestDirectory;
let chat: TestProvider;
let app: ReturnType<typeof appOver>;
let config: Configuration;
let checkpoints: CheckpointVerifier;
let earlier: { anchor: KeyTransAnchor; state: GlobalState };
let current: { anchor: KeyTransAnchor; state: GlobalState };
let entries: Uint8Array[];

/** What the witness does with any checkpoint it is shown: cosigns it (it sees no other view to compare). */
function cosign(note: string): string {
  const { textBytes } = splitNote(utf8(note));
  return appendSignatures(note, [makeCosignature(witness, textBytes, BigInt(Math.floor(Date.now() / 1000)))]);
}

async function publish(account: string, version: number): Promise<void> {
  const signed = chat.sign(statementFor(chat, account, version, [identityKey()], t.clock.now));
  const tbs = encodeUpdateTbs(config, utf8(account), version - 1, signed.statement);
  await t.dir.submit(signed.statement, signed.signature, undefined, signSync('ed25519', chat.leaf.secretKey, tbs));
  t.clock.now += 1000;
  await t.dir.closeEpoch();
}

/** The served anchor, and the state the client keeps after searching `alice` over HTTP. */
async function served(): Promise<{ anchor: KeyTransAnchor; state: GlobalState }> {
  const anchor = parseKeyTransAnchor(await (await app.request('/keytrans/v1/anchor')).json());
  const request: SearchRequest = { last: null, label: utf8('alice'), version: null };
  const ctx = { suite: config.ciphersuite, mode: config.mode };
  const res = await app.request(`/keytrans/v1/${PROVIDER}/search`, {
    method: 'POST',
    headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
    body: encodeMessage('SearchRequest', request, ctx) as Uint8Array<ArrayBuffer>,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const response = decodeMessage('SearchResponse', bytes, { ...ctx, requestHasVersion: false });
  return { anchor, state: verifySearch(SUITE, config, null, request, response, t.clock.now).state };
}

beforeAll(async () => {
  t = await openTestDirectory({ keytrans: true, cosign: async (note) => cosign(note) });
  chat = await enrolProvider(t, PROVIDER);
  await enrolProvider(t, 'talk.example');
  app = appOver(t);
  t.clock.now += 1000;
  await t.dir.closeEpoch();
  config = decodeConfiguration(
    new Uint8Array(await (await app.request(`/keytrans/v1/${PROVIDER}/config`)).arrayBuffer()),
  );
  checkpoints = new CheckpointVerifier({
    origin: ORIGIN,
    logKey: parseVerifierKey(logSignerForTests.verifierKey),
    policy: { witnesses: [cosignatureVerifier(witness.name, witness.publicKey)], quorum: 1 },
  });
  await publish('alice', 1);
  earlier = await served();
  for (let v = 2; v <= 4; v++) await publish('alice', v); // a tree size of 6: two full subtrees, two on the frontier
  current = await served();
  entries = await entriesOf(t);
});

const check = (anchor: KeyTransAnchor, state: GlobalState) => () =>
  verifyKeyTransAnchor(checkpoints, anchor, PROVIDER, SUITE, state);

/** `anchor_head_mismatch` as each of its two branches throws it (told apart by their messages). */
const HEAD = 'anchor_head_mismatch (root or signature)';
const NEWEST = 'anchor_head_mismatch (newest entry)';

/** The code `f` throws ('no error' if none; `anchor_head_mismatch` with its branch), as errorCode gives it. */
function outcome(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    if (code !== 'anchor_head_mismatch') return code ?? 'untyped';
    return /another newest log entry/.test(message) ? NEWEST : HEAD;
  }
  return 'no error';
}

/** A case: its label and the outcome of its check. */
type Case = [string, string];

/** The cases (label, code) whose code is not `expected`, each as "label: code"; [] when all are. */
const misjudged = (cases: Case[], expected: string) =>
  cases.filter(([, code]) => code !== expected).map(([label, code]) => `${label}: ${code}`);

/** Copies of `bytes`, each with one bit of one byte flipped (the bit turns with the byte). */
const eachByteFlipped = (bytes: Uint8Array) =>
  Array.from(bytes, (_, i) => {
    const out = bytes.slice();
    out[i] ^= 1 << (i % 8);
    return out;
  });

/** `n` with bit `k` flipped (53-bit safe integers). */
const flipBit = (n: number, k: number) => (Math.floor(n / 2 ** k) % 2 === 1 ? n - 2 ** k : n + 2 ** k);
const BITS = Array.from({ length: 53 }, (_, k) => k);

describe('the served anchor', () => {
  it('passes for the head the client verified; an earlier epoch’s is older, a later one’s newer', () => {
    expect(current.state.treeHead.treeSize).toBeGreaterThan(earlier.state.treeHead.treeSize);
    expect(outcome(check(current.anchor, current.state))).toBe('no error');
    expect(outcome(check(earlier.anchor, earlier.state))).toBe('no error');
    expect(outcome(check(earlier.anchor, current.state))).toBe('anchor_older_head');
    expect(outcome(check(current.anchor, earlier.state))).toBe('anchor_newer_head');
  });
});

/**
 * The operator's own anchor of the current epoch: the log up to its epoch head with the KEYTRANS heads entry's
 * heads replaced by `heads(honest heads)`, the checkpoint signed with the log key and cosigned by the witness.
 */
function forged(heads: (h: KeyTransHead[]) => KeyTransHead[]): KeyTransAnchor {
  const a = current.anchor;
  const honest = headsAt(entries, a.index);
  const entry = encodeEntry({ ...honest, heads: heads(honest.heads) });
  const hashes = entries.slice(0, a.index + 2).map((e, i) => recordHash(i === a.index ? entry : e));
  const rootHash = rootFromLeafHashes(hashes);
  const note = signCheckpoint({ origin: ORIGIN, size: hashes.length, rootHash }, logSignerForTests);
  return { ...a, checkpoint: cosign(note), entry, proof: pathFromLeafHashes(hashes, a.index) };
}

/** The code of the client's current state against a forged anchor whose head of the provider is `change(head)`. */
function forgedCode(change: (h: KeyTransHead) => KeyTransHead): string {
  const anchor = forged((heads) => heads.map((h) => (h.providerId === PROVIDER ? change(h) : h)));
  return outcome(check(anchor, current.state));
}

/** The provider's head in the KEYTRANS heads entry of `anchor`. */
const anchoredHead = (anchor: KeyTransAnchor) =>
  headsAt(entries, anchor.index).heads.find((h) => h.providerId === PROVIDER)!;

describe('the anchored head changed in a log the operator signs and the witness cosigns', () => {
  it('passes when nothing changed (the forgery itself is sound); its tree size older or newer', () => {
    expect(forgedCode((h) => h)).toBe('no error');
    expect(forgedCode((h) => ({ ...h, treeSize: h.treeSize - 1 }))).toBe('anchor_older_head');
    expect(forgedCode((h) => ({ ...h, treeSize: h.treeSize + 1 }))).toBe('anchor_newer_head');
  });

  it('each byte of its root, or of its signature alone (a longer or shorter one too)', () => {
    const head = anchoredHead(current.anchor);
    const signatures = [
      ...eachByteFlipped(head.signature),
      head.signature.subarray(1),
      Uint8Array.of(...head.signature, 0),
    ];
    const cases: Case[] = [
      ...eachByteFlipped(head.root).map((root, i): Case => [`root ${i}`, forgedCode((h) => ({ ...h, root }))]),
      ...signatures.map((signature, i): Case => [`signature ${i}`, forgedCode((h) => ({ ...h, signature }))]),
    ];
    expect(cases).toHaveLength(32 + 64 + 2);
    expect(misjudged(cases, HEAD)).toEqual([]);
  });

  it('its newest entry alone: each bit of the timestamp, each byte of the prefix root', () => {
    const cases: Case[] = [
      ...BITS.map(
        (k): Case => [`timestamp bit ${k}`, forgedCode((h) => ({ ...h, timestamp: flipBit(h.timestamp, k) }))],
      ),
      ...eachByteFlipped(anchoredHead(current.anchor).prefixRoot).map(
        (prefixRoot, i): Case => [`prefixRoot ${i}`, forgedCode((h) => ({ ...h, prefixRoot }))],
      ),
    ];
    expect(misjudged(cases, NEWEST)).toEqual([]);
  });

  it('one field at a time from the other deployment’s head or the earlier epoch’s; the provider’s name', () => {
    const own = anchoredHead(current.anchor);
    const other = headsAt(entries, current.anchor.index).heads.find((h) => h.providerId !== PROVIDER)!;
    const sources = { 'other deployment': other, 'earlier epoch': anchoredHead(earlier.anchor) };
    const swaps: Record<string, Case[]> = { [HEAD]: [], [NEWEST]: [] };
    // Both deployments log an entry in each epoch, at the epoch's time: a value equal to the own is no change.
    for (const [from, source] of Object.entries(sources))
      for (const field of ['root', 'signature', 'timestamp', 'prefixRoot'] as const)
        if (String(source[field]) !== String(own[field]))
          swaps[field === 'root' || field === 'signature' ? HEAD : NEWEST].push([
            `${from} ${field}`,
            forgedCode((h) => ({ ...h, [field]: source[field] })),
          ]);
    expect([swaps[HEAD].length, swaps[NEWEST].length]).toEqual([4, 3]);
    expect(misjudged(swaps[HEAD], HEAD)).toEqual([]);
    expect(misjudged(swaps[NEWEST], NEWEST)).toEqual([]);
    const names = ['Chat.example', 'chat.example.', 'chat.exampl', other.providerId];
    const renamed = names.map((providerId): Case => [providerId, forgedCode((h) => ({ ...h, providerId }))]);
    expect(misjudged(renamed, 'anchor_provider_absent')).toEqual([]);
  });

  it('the provider named twice: the first head decides; the auditor’s history refuses the entry', () => {
    const own = anchoredHead(current.anchor);
    const changed = { ...own, signature: own.signature.map((x) => x ^ 1) };
    const first = forged((heads) => [changed, ...heads]);
    expect(outcome(check(first, current.state))).toBe(HEAD);
    // Every client takes the provider's first head, so a second one gives no client another view: accepted here,
    // and refused where the log is audited (history.ts: an epoch that names a provider twice).
    const second = forged((heads) => [...heads, changed]);
    expect(outcome(check(second, current.state))).toBe('no error');
    expect(() => new KeyTransHistory(SUITE).apply(headsAt([second.entry], 0))).toThrow(
      expect.objectContaining({ code: 'anchor_history', message: expect.stringContaining('twice') }),
    );
  });
});

/** The code of the served anchor against a copy of the client's current state changed by `change`. */
function stateCode(change: (s: GlobalState) => void): string {
  const s = structuredClone(current.state);
  change(s);
  return outcome(check(current.anchor, s));
}

const newest = (s: GlobalState) => s.frontier.find((e) => e.position === s.treeHead.treeSize - 1)!;

describe('the client’s state changed against the served anchor', () => {
  it('its tree size, each byte of its signature or of a full subtree, the subtrees reversed', () => {
    expect(stateCode((s) => void (s.treeHead.treeSize += 1))).toBe('anchor_older_head');
    expect(stateCode((s) => void (s.treeHead.treeSize -= 1))).toBe('anchor_newer_head');
    const { treeHead, fullSubtrees } = current.state;
    expect(fullSubtrees.length).toBeGreaterThan(1);
    const cases: Case[] = [
      ...eachByteFlipped(treeHead.signature).map(
        (v, i): Case => [`signature ${i}`, stateCode((s) => void (s.treeHead.signature = v))],
      ),
      ...fullSubtrees.flatMap((subtree, j) =>
        eachByteFlipped(subtree).map(
          (v, i): Case => [`subtree ${j} byte ${i}`, stateCode((s) => void (s.fullSubtrees[j] = v))],
        ),
      ),
      ['reversed', stateCode((s) => void s.fullSubtrees.reverse())],
    ];
    expect(misjudged(cases, HEAD)).toEqual([]);
    // A subtree missing is not the state of any tree: the log tree refuses it before a root is compared (a
    // KeyTransError, not an AnchorError; only a caller's own damaged state can be like this).
    expect(stateCode((s) => void s.fullSubtrees.pop())).toBe('kt_bad_input');
  });

  it('its newest frontier entry: each bit of the timestamp, each byte of the prefix root', () => {
    expect(newest(current.state)).toBeDefined();
    const cases: Case[] = [
      ...BITS.map(
        (k): Case => [
          `timestamp bit ${k}`,
          stateCode((s) => void (newest(s).timestamp = flipBit(newest(s).timestamp, k))),
        ],
      ),
      ...eachByteFlipped(newest(current.state).prefixTree).map(
        (v, i): Case => [`prefixTree ${i}`, stateCode((s) => void (newest(s).prefixTree = v))],
      ),
    ];
    expect(misjudged(cases, NEWEST)).toEqual([]);
  });

  it('accepts what the anchored head does not name: the other frontier entries, the newest one left out', () => {
    // The anchored head names the root, the signature and the newest entry alone; the other entries the client
    // retains were checked against that root when its search verified, and are not compared again here.
    expect(current.state.frontier.length).toBeGreaterThan(1);
    const others = (s: GlobalState) => s.frontier.filter((e) => e !== newest(s));
    expect(stateCode((s) => others(s).forEach((e) => void (e.timestamp += 1)))).toBe('no error');
    expect(stateCode((s) => others(s).forEach((e) => void (e.prefixTree[0] ^= 1)))).toBe('no error');
    // Without its newest entry the comparison of the timestamp and prefix root is skipped, the root and signature
    // still equal the anchored head's. No verified state lacks it (the frontier ends at treeSize - 1).
    expect(stateCode((s) => void (s.frontier = others(s)))).toBe('no error');
  });
});
