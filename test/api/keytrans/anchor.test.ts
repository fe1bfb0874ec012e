/**
 * The anchoring of KEYTRANS heads in the witnessed C2SP log (docs/PROTOCOL.md section 22.7): each epoch's KEYTRANS
 * heads entry sits just before the epoch head, and `GET /keytrans/v1/anchor` proves it in the served, witnessed
 * checkpoint. The KEYTRANS client, given only the C2SP pins, accepts the head it verified against the anchor; a
 * fork of the provider's KEYTRANS tree made behind the log's back (the operator's own keys, another value for an
 * account, the same tree size) verifies as KEYTRANS but is refused by the anchor check. Every field of the anchor
 * flipped or swapped is refused too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyTransDeployments } from '../../../log/keytrans/deployments.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { decodeEntry } from '../../../verifier/formats/entries.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { KeyTransHistory } from '../../../verifier/keytrans-anchor/history.js';
import { operatorKeys } from '../../../log/keytrans/operator-keys.js';
import { respondSearch } from '../../../log/keytrans/search-responder.js';
import { storedView } from '../../../log/keytrans/stored-view.js';
import {
  type KeyTransAnchor,
  parseKeyTransAnchor,
  verifyKeyTransAnchor,
} from '../../../verifier/keytrans-anchor/anchor.js';
import { decodeMessage, encodeMessage, KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { decodeConfiguration, encodeUpdateTbs, encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import type { Configuration, SearchRequest, SearchResponse } from '../../../verifier/keytrans/types.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { cosignatureVerifier, cosigner, makeCosignature } from '../../../wasm-free-crypto/cosignature.js';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { appendSignatures, parseVerifierKey, splitNote } from '../../../wasm-free-crypto/note.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import { MemoryDeploymentStore } from '../../doubles/memory-deployment-store.js';
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
import { appendEpoch } from '../../helpers/keytrans-append.js';
import { ORIGIN } from '../../helpers/log.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const PROVIDER = 'chat.example';
const VRF_SECRET = new Uint8Array(32).fill(7);
const witness = cosigner('witness.example/w1', new Uint8Array(32).fill(9));

let t: TestDirectory;
let chat: TestProvider;
let app: ReturnType<typeof appOver>;
let config: Configuration;
let checkpoints: CheckpointVerifier;

/** The witness cosigns each checkpoint before it is served. */
async function cosign(note: string): Promise<string> {
  const { textBytes } = splitNote(utf8(note));
  return appendSignatures(note, [makeCosignature(witness, textBytes, BigInt(Math.floor(Date.now() / 1000)))]);
}

async function tick() {
  t.clock.now += 1000;
  await t.dir.closeEpoch();
}

async function publish(account: string, version: number) {
  const signed = chat.sign(statementFor(chat, account, version, [identityKey()], t.clock.now));
  const tbs = encodeUpdateTbs(config, utf8(account), version - 1, signed.statement);
  await t.dir.submit(signed.statement, signed.signature, undefined, signSync('ed25519', chat.leaf.secretKey, tbs));
  await tick();
  return signed.statement;
}

async function anchor(): Promise<KeyTransAnchor> {
  const res = await app.request('/keytrans/v1/anchor');
  expect(res.status).toBe(200);
  return parseKeyTransAnchor(await res.json());
}

async function searchOverHttp(label: string) {
  const request: SearchRequest = { last: null, label: utf8(label), version: null };
  const ctx = { suite: config.ciphersuite, mode: config.mode };
  const res = await app.request(`/keytrans/v1/${PROVIDER}/search`, {
    method: 'POST',
    headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
    body: encodeMessage('SearchRequest', request, ctx) as Uint8Array<ArrayBuffer>,
  });
  const response = decodeMessage('SearchResponse', new Uint8Array(await res.arrayBuffer()), {
    ...ctx,
    requestHasVersion: false,
  });
  return verifySearch(SUITE, config, null, request, response, t.clock.now);
}

beforeAll(async () => {
  t = await openTestDirectory({ keytrans: true, vrfSecretKey: VRF_SECRET, cosign });
  chat = await enrolProvider(t, PROVIDER);
  app = appOver(t);
  await tick();
  config = decodeConfiguration(
    new Uint8Array(await (await app.request(`/keytrans/v1/${PROVIDER}/config`)).arrayBuffer()),
  );
  checkpoints = new CheckpointVerifier({
    origin: ORIGIN,
    logKey: parseVerifierKey(logSignerForTests.verifierKey),
    policy: { witnesses: [cosignatureVerifier(witness.name, witness.publicKey)], quorum: 1 },
  });
  await publish('alice', 1);
  await publish('alice', 2);
});

describe('KEYTRANS heads anchored in the witnessed log', () => {
  it('accepts the head the client verified, and refuses a fork of the provider’s tree made behind the log', async () => {
    const honest = await searchOverHttp('alice');
    const a = await anchor();
    verifyKeyTransAnchor(checkpoints, a, PROVIDER, SUITE, honest.state);

    // The operator forks chat.example's deployment: same keys and configuration, alice bound to another value.
    const keys = operatorKeys(VRF_SECRET, PROVIDER);
    const deployment = {
      suite: SUITE,
      config,
      headSecretKey: keys.headSecretKey,
      vrf: async (input: Uint8Array) => keys.vrf(input),
    };
    const fork = new MemoryDeploymentStore();
    const size = honest.state.treeHead.treeSize;
    for (let p = 0; p < size; p++) {
      const forged = utf8('a statement the provider never published');
      const tbs = encodeUpdateTbs(config, utf8('alice'), 0, forged);
      const signature = signSync('ed25519', chat.leaf.secretKey, tbs); // even with the provider's key
      const updates = p === size - 1 ? [{ label: utf8('alice'), value: { value: forged, suffix: { signature } } }] : [];
      await appendEpoch(fork, deployment, updates, t.clock.now - (size - p));
    }
    const searchKey = (label: Uint8Array, version: number) => {
      const { output, proof } = keys.vrf(encodeVrfInput({ label, version }));
      return { vrfOutput: output, vrfProof: proof };
    };
    const view = storedView(fork, SUITE, config, size, searchKey);
    const request: SearchRequest = { last: null, label: utf8('alice'), version: null };
    const ctx = { suite: config.ciphersuite, mode: config.mode, requestHasVersion: false };
    const response = decodeMessage(
      'SearchResponse',
      encodeMessage('SearchResponse', respondSearch(view, request), ctx),
      ctx,
    );
    const forked = verifySearch(SUITE, config, null, request, response as SearchResponse, t.clock.now);
    expect(forked.state.treeHead.treeSize).toBe(size); // KEYTRANS alone cannot tell
    expect(() => verifyKeyTransAnchor(checkpoints, a, PROVIDER, SUITE, forked.state)).toThrow(
      expect.objectContaining({ code: 'anchor_head_mismatch' }),
    );
  });

  it('refuses an anchor with any field flipped or swapped', async () => {
    const honest = await searchOverHttp('alice');
    const a = await anchor();
    const refused = (x: KeyTransAnchor, code: string, provider = PROVIDER) =>
      expect(() => verifyKeyTransAnchor(checkpoints, x, provider, SUITE, honest.state)).toThrow(
        expect.objectContaining({ code }),
      );
    for (let i = 0; i < a.entry.length; i += 7) {
      const entry = a.entry.slice();
      entry[i] ^= 1;
      refused({ ...a, entry }, 'anchor_not_included');
    }
    a.proof.forEach((_, i) => {
      const proof = a.proof.map((h) => h.slice());
      proof[i][0] ^= 0x80;
      refused({ ...a, proof }, 'anchor_not_included');
    });
    refused({ ...a, index: a.index - 1 }, 'anchor_not_included');
    refused({ ...a, epoch: a.epoch + 1 }, 'anchor_not_included');
    refused({ ...a, checkpoint: a.checkpoint.replace(/\n\n.*$/s, '\n\n') }, 'anchor_bad_checkpoint');
    const lines = a.checkpoint.split('\n');
    refused(
      { ...a, checkpoint: [lines[0], String(Number(lines[1]) + 1), ...lines.slice(2)].join('\n') },
      'anchor_bad_checkpoint',
    );
    refused(a, 'anchor_provider_absent', 'mail.example');
    const unwitnessed = new CheckpointVerifier({
      origin: ORIGIN,
      logKey: parseVerifierKey(logSignerForTests.verifierKey),
      policy: { witnesses: [cosignatureVerifier('other.example/w', new Uint8Array(32).fill(3))], quorum: 1 },
    });
    expect(() => verifyKeyTransAnchor(unwitnessed, a, PROVIDER, SUITE, honest.state)).toThrow(
      expect.objectContaining({ code: 'anchor_bad_checkpoint' }),
    );
    // A head of an earlier epoch is not the one this anchor fixes.
    await publish('alice', 3);
    const later = await anchor();
    expect(() => verifyKeyTransAnchor(checkpoints, later, PROVIDER, SUITE, honest.state)).toThrow(
      expect.objectContaining({ code: 'anchor_newer_head' }),
    );
    for (const bad of [{}, { ...a, extra: 1 }, { ...a, proof: ['AA=='] }, { ...a, index: -1 }])
      expect(() =>
        parseKeyTransAnchor(JSON.parse(JSON.stringify(bad, (_, v) => (v instanceof Uint8Array ? toBase64(v) : v)))),
      ).toThrow(expect.objectContaining({ code: 'anchor_malformed' }));
  });

  it('puts the KEYTRANS heads entry just before each epoch head, with every deployment in it', async () => {
    const a = await anchor();
    const snap = t.dir.servedSnapshot;
    expect(a.index).toBe(snap.headIndex - 1);
    expect(a.epoch).toBe(snap.epoch);
    expect(t.keytrans).toBeInstanceOf(KeyTransDeployments);
  });
});

describe('the KEYTRANS heads’ history (an auditor’s replay)', () => {
  it('replays every anchored head from the log, and refuses an operator anchoring two trees in turn', async () => {
    const reader = new LogReader(new SqliteLogStorage(t.db), () => t.log.head);
    const size = t.log.head.size;
    const entries: Uint8Array[] = [];
    for (let n = 0; n * 256 < size; n++)
      entries.push(...decodeEntryBundle((await reader.entryBundle(n, Math.min(256, size - n * 256)))!));
    const heads = entries.map((e) => decodeEntry(e)).filter((e) => e.type === 'keytrans');
    expect(heads.length).toBeGreaterThan(3);
    const history = new KeyTransHistory(SUITE);
    for (const h of heads) history.apply(h);
    // Another tree in one epoch (its own entry and root, the size in step): the replay's root differs.
    const replay = new KeyTransHistory(SUITE);
    const swapped = heads.map((h, i) =>
      i === 2 ? { ...h, heads: h.heads.map((x) => ({ ...x, prefixRoot: new Uint8Array(32).fill(5) })) } : h,
    );
    expect(() => swapped.forEach((h) => replay.apply(h))).toThrow(expect.objectContaining({ code: 'anchor_history' }));
    const skipped = new KeyTransHistory(SUITE);
    expect(() => [heads[0], heads[2]].forEach((h) => skipped.apply(h))).toThrow(
      expect.objectContaining({ code: 'anchor_history' }),
    );
    const dropped = new KeyTransHistory(SUITE);
    expect(() => [heads[0], { ...heads[1], heads: [] }].forEach((h) => dropped.apply(h))).toThrow(
      expect.objectContaining({ code: 'anchor_history' }),
    );
  });
});

describe('the anchor route', () => {
  it('answers /keytrans/v1/anchor alone of the one-segment paths, and lets the app keep its RegExpRouter', async () => {
    for (const other of ['chat.example', 'anchors', 'Anchor']) {
      const res = await app.request(`/keytrans/v1/${other}`);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');
    }
    expect((await app.request('/keytrans/v1/anchor')).status).toBe(200);
    // A route that Hono's RegExpRouter cannot hold makes SmartRouter fall back to the TrieRouter for every
    // request (about a twentieth of a lookup's time on the server); the routes are kept so that it does not.
    expect((app.router as unknown as { activeRouter: { name: string } }).activeRouter.name).toBe('RegExpRouter');
  });

  it('labels its answers /keytrans/v1/anchor in /metrics and the paths it turns away unmatched', async () => {
    const count = async (route: string, status: number) => {
      const text = await (await app.request('/metrics')).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`kt_requests_total{method="GET",route="${route}",status="${status}"}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const [anchors, unmatched] = [await count('/keytrans/v1/anchor', 200), await count('unmatched', 404)];
    await app.request('/keytrans/v1/anchor');
    await app.request('/keytrans/v1/chat.example');
    await app.request('/keytrans/v1/chat.example');
    expect(await count('/keytrans/v1/anchor', 200)).toBe(anchors + 1);
    expect(await count('unmatched', 404)).toBe(unmatched + 2);
    expect(await (await app.request('/metrics')).text()).not.toContain('route="/keytrans/v1/:provider"');
  });
});
