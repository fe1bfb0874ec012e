/**
 * Fixtures for directory tests: an in-memory SQLite log and directory with a controllable clock, a test
 * PKI with enrolled providers, and helpers that sign statements as a provider and verify proofs as a
 * client with only the pins.
 */
import { KeyTransDeployments } from '../../log/keytrans/deployments.js';
import { operatorKeys } from '../../log/keytrans/operator-keys.js';
import { SqliteDeploymentStores } from '../../log/keytrans/sqlite-store.js';
import Database from 'better-sqlite3';
import { signSync, type SignatureAlgorithm } from '../../wasm-free-crypto/signatures.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import { LogAppender } from '../../log/merkle/appender.js';
import { Directory } from '../../log/directory/directory.js';
import type { DirectoryOptions } from '../../log/directory/directory-options.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import type { VrfProver } from '../../log/directory/vrf-prover.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import type { Statement, StatementKey } from '../../verifier/formats/statement.js';
import { encodeStatement, providerSignedMessage } from '../../verifier/formats/statement-binary.js';
import { LookupVerifier } from '../../verifier/verification/lookup-verifier.js';
import { serverApp } from '../../api/wiring/open-server.js';
import { DEFAULT_SETTINGS } from '../../api/wiring/settings.js';
import { jsonLogger } from '../../api/app/logger.js';
import { logSigner, ORIGIN } from './log.js';
import { makeLeaf, makeRoot, type PkiCert } from './pki.js';

export interface TestProvider {
  id: string;
  leaf: PkiCert;
  sign(s: Statement): { statement: Uint8Array; signature: Uint8Array };
}

export interface TestDirectory {
  db: Database.Database;
  dir: Directory;
  log: LogAppender;
  clock: { now: number };
  root: PkiCert;
  verifier: LookupVerifier;
  /** The providers' KEYTRANS deployments, when the directory runs them (opts.keytrans). */
  keytrans: KeyTransDeployments | null;
  reopen(): Promise<TestDirectory>;
}

const signer = logSigner();
/** The log signer every test directory uses. */
export const logSignerForTests = signer;

/** A directory on a fresh in-memory (or given) SQLite database, already at epoch 0. */
export async function openTestDirectory(
  opts: {
    db?: Database.Database;
    root?: PkiCert;
    vrfSecretKey?: Uint8Array;
    clock?: { now: number };
    maxQueue?: number;
    maxEpochUpdates?: number;
    mapCacheRows?: number;
    /** The VRF prover of unknown names (default: inline, on this thread); it must hold `vrfSecretKey`. */
    vrfProver?: VrfProver;
    /** The witnesses' cosigning of each epoch's checkpoint (default: none). */
    cosign?: (checkpoint: string) => Promise<string>;
    /** Run the providers' KEYTRANS deployments in the same database (default: no). */
    keytrans?: boolean;
    /** Told of a step that failed after an epoch committed (DirectoryOptions.onAfterCommitError). */
    onAfterCommitError?: DirectoryOptions['onAfterCommitError'];
  } = {},
): Promise<TestDirectory> {
  const db = opts.db ?? new Database(':memory:');
  const root = opts.root ?? (await makeRoot());
  const clock = opts.clock ?? { now: Date.now() };
  const vrfSecretKey = opts.vrfSecretKey ?? randomBytes(32);
  const storage = new SqliteLogStorage(db);
  const log = await LogAppender.open({ storage, signer, origin: ORIGIN });
  const reader = new LogReader(storage, () => log.head);
  let opened: Directory | null = null;
  const keytrans = opts.keytrans
    ? new KeyTransDeployments(
        new SqliteDeploymentStores(db),
        (p) => operatorKeys(vrfSecretKey, p, opts.vrfProver),
        () => opened?.credentials.all() ?? [],
      )
    : null;
  const dir = await Directory.open({
    log,
    reader,
    store: new SqliteDirectoryStore(db),
    vrfSecretKey,
    trustedRoots: [root.der],
    now: () => clock.now,
    maxQueue: opts.maxQueue,
    maxEpochUpdates: opts.maxEpochUpdates,
    mapCacheRows: opts.mapCacheRows,
    vrfProver: opts.vrfProver,
    cosign: opts.cosign,
    keytrans: keytrans ?? undefined,
    onAfterCommitError: opts.onAfterCommitError,
  });
  opened = dir;
  const verifier = new LookupVerifier({
    origin: ORIGIN,
    logKey: parseVerifierKey(signer.verifierKey),
    vrfKey: dir.vrfPublicKey,
  });
  return {
    db,
    dir,
    log,
    clock,
    root,
    verifier,
    keytrans,
    reopen: () =>
      openTestDirectory({
        db,
        root,
        vrfSecretKey,
        clock,
        maxEpochUpdates: opts.maxEpochUpdates,
        mapCacheRows: opts.mapCacheRows,
        vrfProver: opts.vrfProver,
        cosign: opts.cosign,
        keytrans: opts.keytrans,
        onAfterCommitError: opts.onAfterCommitError,
      }),
  };
}

/** Issues a provider certificate under the test root and enrols it (committed in a new epoch). */
export async function enrolProvider(
  t: TestDirectory,
  id: string,
  keyType: SignatureAlgorithm = 'ed25519',
): Promise<TestProvider> {
  const leaf = await makeLeaf(t.root, { dnsNames: [id], keyType });
  const { committed } = await t.dir.enrol([leaf.der]);
  await t.dir.closeEpoch();
  await committed;
  return providerFor(id, leaf);
}

export function providerFor(id: string, leaf: PkiCert): TestProvider {
  return {
    id,
    leaf,
    sign(s) {
      const statement = encodeStatement(s);
      return {
        statement,
        signature: signSync(leaf.algorithm as SignatureAlgorithm, leaf.secretKey, providerSignedMessage(statement)),
      };
    },
  };
}

/** An Ed25519 identity key for a statement. */
export function identityKey(id = 'identity', seed = randomBytes(32)): StatementKey & { seed: Uint8Array } {
  const publicKey = ed25519KeyPairFromSeed(seed).publicKey;
  return { id, algorithm: 'ed25519', publicKey, protocol: 'signal/v3', capabilities: ['fs'], seed };
}

/**
 * An active version-`version` statement of `provider` for `account` with one fresh Ed25519 identity key, and the
 * provider's Ed25519 signature over it by `secretKey`: what the tests and benches that drive a server publish.
 */
export function signedIdentityStatement(
  provider: string,
  secretKey: Uint8Array,
  account: string,
  version: number,
): { statement: Uint8Array; signature: Uint8Array } {
  const { seed: _seed, ...key } = identityKey();
  const statement = encodeStatement({
    provider,
    account,
    version,
    issuedAt: Date.now(),
    status: 'active',
    keys: [key],
  });
  return { statement, signature: signSync('ed25519', secretKey, providerSignedMessage(statement)) };
}

/** A version-`version` statement for `account` at provider `p` with the given keys. */
export function statementFor(
  p: TestProvider,
  account: string,
  version: number,
  keys: StatementKey[],
  issuedAt: number,
): Statement {
  return {
    provider: p.id,
    account,
    version,
    issuedAt,
    status: 'active',
    keys: keys.map(({ id, algorithm, publicKey, protocol, capabilities }) => ({
      id,
      algorithm,
      publicKey,
      protocol,
      capabilities,
    })),
  };
}

/** Submits and commits one statement; returns the commitment outcome. */
export async function publish(t: TestDirectory, signed: { statement: Uint8Array; signature: Uint8Array }) {
  const accepted = await t.dir.submit(signed.statement, signed.signature);
  await t.dir.closeEpoch(false);
  return accepted.committed;
}

/** Publishes version `v` of `account` under `p` with a fresh identity key, or its deletion (which erases the versions before it). */
export function publishVersion(t: TestDirectory, p: TestProvider, account: string, v: number, deleted = false) {
  const s = statementFor(p, account, v, deleted ? [] : [identityKey()], t.clock.now);
  return publish(t, p.sign(deleted ? { ...s, status: 'deleted' } : s));
}

/** The operator token of test apps. */
export const TEST_OPERATOR_TOKEN = 'operator-secret-token';

/**
 * The HTTP app over a test directory, wired as the servers wire it (api/wiring/open-server.ts), with a
 * lookup rate limit of `capacity` requests per client (refilled at one per second).
 */
export function appOver(t: TestDirectory, opts: { capacity?: number } = {}) {
  return serverApp({
    reader: new LogReader(new SqliteLogStorage(t.db), () => t.log.head),
    signer,
    directory: t.dir,
    keytrans: t.keytrans,
    operatorToken: TEST_OPERATOR_TOKEN,
    settings: { ...DEFAULT_SETTINGS, lookupBurst: opts.capacity ?? 1000, lookupRatePerSecond: 1 },
    logger: jsonLogger(() => {}),
  }).app;
}

/** A test directory with one enrolled provider (chat.example) and its app (see `appOver`). */
export async function directoryApp(opts: { capacity?: number; maxQueue?: number } = {}) {
  const t = await openTestDirectory({ maxQueue: opts.maxQueue ?? 5, keytrans: true });
  const chat = await enrolProvider(t, 'chat.example');
  return { t, chat, app: appOver(t, opts) };
}

/**
 * A replica that lags, over `t` with `chat` enrolled: `account` gets versions 1 and 2; `request` answers as
 * the app does, except lookups while `lag.on`, which get the answer of version 1's epoch (made at `laggedAt`).
 */
export async function laggingReplica(t: TestDirectory, chat: TestProvider, account: string) {
  const rotate = (version: number) =>
    publish(t, chat.sign(statementFor(chat, account, version, [identityKey()], t.clock.now)));
  await rotate(1);
  const app = appOver(t);
  const lagging = await (await app.request(`/v1/lookup/chat.example/${account}`)).text();
  const laggedAt = t.clock.now;
  await rotate(2);
  const lag = { on: false };
  const request = async (url: string, init?: RequestInit) =>
    lag.on && url.includes('/v1/lookup/') ? new Response(lagging) : app.request(url, init);
  return { app, request, lag, laggedAt };
}
