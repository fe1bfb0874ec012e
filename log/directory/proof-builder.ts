/**
 * Proofs as values, built from one epoch snapshot so that every part refers to the same checkpoint:
 * lookups of present and absent accounts, the history of an account since a version, and cross-provider
 * discovery of one account name. A proof carries everything a client needs with only the pinned log
 * key and VRF key: the signed checkpoint, the epoch head and its inclusion proof, the VRF proof of the
 * label, the map proof and, for a present account, the signed statement, its opening, the previous
 * history hash and the provider's enrolment entry with its inclusion proof in the epoch head's
 * credential set. An absent account carries the provider's first enrolment entry in that set instead,
 * and a provider with none (not enrolled, or a typo) the whole set (docs/PROTOCOL.md section 17).
 * Verification is in verifier/verification/lookup-verifier.ts.
 */
import { canonicalAccount, providerIdValid } from '../../verifier/formats/account.js';
import type { Credential, CredentialRegistry } from './credentials.js';
import { DirectoryError } from './errors.js';
import type { EpochSnapshot } from './epoch-plan.js';
import type { DirectoryStore, NamedAccount, VersionRow } from './store.js';
import type { MapLeaf, MapProof } from '../../verifier/formats/map-proof.js';
import { decodeEntry, type EpochHeadEntry } from '../../verifier/formats/entries.js';
import { decodeEntryBundle, TILE_WIDTH } from '../../verifier/formats/tiles.js';
import type {
  DiscoveryProof,
  EnrolmentProof,
  EpochProof,
  HistoryProof,
  LookupProof,
  MonitorProof,
  VersionProof,
} from '../../verifier/formats/proofs.js';
import { pathFromLeafHashes, recordHash } from '../../verifier/formats/tlog.js';
import {
  commitment,
  HISTORY_ZERO,
  historyHash,
  signedStatementBytes,
} from '../../verifier/formats/directory-hashes.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';

/**
 * What proofs are built from: the sequencer (directory.ts), or a reader of its store that is not the
 * sequencer (directory-reader.ts). Each gives the label of a name, one epoch's map proof of a label, and
 * the rows and log entries the proofs carry.
 */
export interface ProofSource {
  /** The label and VRF proof of a canonical (provider, account), with its rows if the store knows it. */
  labelFor(
    provider: string,
    account: string,
    beforeVrf?: () => void | Promise<void>,
  ): Promise<{ label: Uint8Array; vrfProof: Uint8Array; stored?: NamedAccount }>;
  /**
   * The served epoch with the map proof and leaf of `label`, all of that one epoch. `at`: a snapshot this
   * source gave earlier for the same answer (a discovery's), which a source that reads its head each time
   * (the Worker's D1 reader) may answer at instead of reading it again; `snap` says which epoch it used.
   */
  proveLabel(
    label: Uint8Array,
    at?: EpochSnapshot,
  ): Promise<{ snap: EpochSnapshot; map: MapProof; leaf: MapLeaf | undefined }>;
  /** The served epoch. */
  snapshot(): Promise<{ snap: EpochSnapshot }>;
  /**
   * Optional: the served epoch, read while a lookup finds its label, for `proveLabel` to answer at (its
   * `at`). For a source whose head read is a round trip of its own (the Worker's D1 reader), so that the two
   * overlap.
   */
  headAhead?(): Promise<{ snap: EpochSnapshot }>;
  /** Every credential in log order (a prefix of it is each epoch's credential set). */
  readonly credentials: Pick<CredentialRegistry, 'all' | 'get'>;
  readonly store: Pick<DirectoryStore, 'account' | 'version' | 'versions'>;
  /** The log's entry bundle `n` of `width` entries (for the commitments of erased versions). */
  entryBundle(n: number, width: number): Promise<Uint8Array | null>;
}

function epochProof(snap: EpochSnapshot): EpochProof {
  return {
    checkpoint: snap.checkpoint,
    headIndex: snap.headIndex,
    headEntry: snap.headEntry,
    headProof: snap.headProof,
  };
}

/** Enrolment proofs by credential and credential-set size: they change only when the set grows. */
const enrolmentProofs = new WeakMap<Credential, Map<number, EnrolmentProof>>();

function enrolmentProof(dir: ProofSource, credential: Credential | undefined, head: EpochHeadEntry): EnrolmentProof {
  const cached = credential && enrolmentProofs.get(credential)?.get(head.credentialCount);
  if (cached) return cached;
  const proof = computeEnrolmentProof(dir, credential, head);
  if (!enrolmentProofs.has(credential!)) enrolmentProofs.set(credential!, new Map());
  enrolmentProofs.get(credential!)!.set(head.credentialCount, proof);
  return proof;
}

function computeEnrolmentProof(
  dir: ProofSource,
  credential: Credential | undefined,
  head: EpochHeadEntry,
): EnrolmentProof {
  const set = dir.credentials.all().slice(0, head.credentialCount);
  // By log index, not by object: a reader builds its credentials anew at each epoch, and the set cached for a
  // size (`credentialSet`) may hold the objects of an earlier one.
  const position = credential ? set.findIndex((c) => c.logIndex === credential.logIndex) : -1;
  if (!credential || position < 0)
    throw new DirectoryError('internal', "a committed statement names a credential outside the epoch's set");
  return {
    position,
    entry: credential.entryBytes,
    proof: pathFromLeafHashes(
      set.map((c) => recordHash(c.entryBytes)),
      position,
    ),
  };
}

/** An epoch's credential set: its entries in order, and each provider's first credential in it. */
interface CredentialSet {
  count: number;
  entries: Uint8Array[];
  first: Map<string, Credential>;
}

/** The credential set of the latest size asked for, per source: it changes only when the set grows. */
const credentialSets = new WeakMap<ProofSource, CredentialSet>();

function credentialSet(dir: ProofSource, count: number): CredentialSet {
  const cached = credentialSets.get(dir);
  if (cached?.count === count) return cached;
  const set = dir.credentials.all().slice(0, count);
  const first = new Map<string, Credential>();
  for (const c of set) if (!first.has(c.entry.providerId)) first.set(c.entry.providerId, c);
  const built = { count, entries: set.map((c) => c.entryBytes), first };
  credentialSets.set(dir, built);
  return built;
}

/**
 * What proves an absence at `provider` besides the map (docs/PROTOCOL.md section 17): the provider's first
 * enrolment in the epoch's credential set (revoked or not: a provider once enrolled stays enrolled), or,
 * for a provider with none, the whole set.
 */
function absence(
  dir: ProofSource,
  provider: string,
  head: EpochHeadEntry,
): Pick<LookupProof, 'absent' | 'notEnrolled'> {
  const set = credentialSet(dir, head.credentialCount);
  const credential = set.first.get(provider);
  if (!credential) return { notEnrolled: { credentials: set.entries } };
  return { absent: { enrolment: enrolmentProof(dir, credential, head) } };
}

/** The commitment of an erased version, read from its update entry in the log. */
async function committedInLog(dir: ProofSource, row: VersionRow): Promise<Uint8Array> {
  const bundle = await dir.entryBundle(Math.floor(row.logIndex / TILE_WIDTH), (row.logIndex % TILE_WIDTH) + 1);
  const entry = bundle && decodeEntry(decodeEntryBundle(bundle)[row.logIndex % TILE_WIDTH]);
  if (!entry || entry.type !== 'update' || entry.version !== row.version)
    throw new DirectoryError('internal', `log entry ${row.logIndex} is not the version's update`);
  return entry.commitment;
}

async function versionProof(dir: ProofSource, row: VersionRow, head: EpochHeadEntry): Promise<VersionProof> {
  if (!row.statement || !row.signature || !row.opening)
    return { version: row.version, commitment: await committedInLog(dir, row) };
  const enrolment = enrolmentProof(dir, dir.credentials.get(row.credentialIndex), head);
  return { version: row.version, statement: row.statement, signature: row.signature, opening: row.opening, enrolment };
}

/** The most versions `historyBefore` replays for a lookup (beyond, the lookup answers busy). */
const MAX_VERSIONS_REPLAYED = 1_000;

/** A version's commitment: from its opening and signed statement, or from the log once it is erased. */
async function commitmentOf(dir: ProofSource, row: VersionRow): Promise<Uint8Array> {
  if (!row.statement || !row.signature || !row.opening) return committedInLog(dir, row);
  return commitment(row.opening, signedStatementBytes(row.statement, row.signature));
}

/**
 * The history hash before the leaf's version (docs/PROTOCOL.md section 17), recomputed from the commitments of
 * the versions before it, for a lookup at an epoch older than the account's row, which holds only the newest
 * version's. Undefined unless the chain, continued by `row`, makes the leaf's history hash: a version row read
 * during an erasure or a replication may be of another state than the leaf's; and for a leaf of more than
 * MAX_VERSIONS_REPLAYED versions, whose rows (and erased versions' log entries) would cost each such lookup too much.
 */
async function historyBefore(
  dir: ProofSource,
  label: Uint8Array,
  leaf: MapLeaf,
  row: VersionRow,
): Promise<Uint8Array | undefined> {
  if (leaf.version > MAX_VERSIONS_REPLAYED) return undefined;
  const earlier = leaf.version > 1 ? await dir.store.versions(label, 1, leaf.version - 1) : [];
  if (earlier.length !== leaf.version - 1 || earlier.some((r, i) => r.version !== i + 1)) return undefined;
  const commitments = await Promise.all(earlier.map((r) => commitmentOf(dir, r)));
  let history: Uint8Array = HISTORY_ZERO;
  for (const [i, c] of commitments.entries()) history = historyHash(history, i + 1, c);
  const made = historyHash(history, leaf.version, await commitmentOf(dir, row));
  return equalBytes(made, leaf.historyHash) ? history : undefined;
}

/**
 * The canonical account of a request for (provider, account). A malformed provider id is refused (400), not
 * proven "not enrolled": no statement can ever name it (docs/PROTOCOL.md section 12.1).
 */
function askedFor(provider: string, accountInput: string): string {
  if (!providerIdValid(provider))
    throw new DirectoryError(
      'bad_request',
      `${JSON.stringify(provider)} is not a provider id (a lower-case DNS name of at least two labels)`,
    );
  return canonicalAccount(accountInput);
}

/**
 * What a lookup's work is charged to (the API's rate limit, api/app/rate-limit-lookups.ts): each hook is
 * called before the work it pays for, and refuses it by throwing.
 */
export interface LookupCharge {
  /** Before the `n` lookups of a discovery are made (a batch's are charged by its route). */
  lookups?(n: number): void | Promise<void>;
  /**
   * Before the VRF proof of a name the store does not know is computed; `left`: the lookups of the request
   * charged and not yet made, this one included (a single lookup: 1).
   */
  absent?(left?: number): void | Promise<void>;
}

/**
 * Looks up (provider, account) in the current epoch; the account is canonicalised first. The map proof is
 * taken from the snapshot; if an epoch commits while the store is read, the lookup starts again so that
 * every part belongs to one epoch. An account row of an epoch after the snapshot's (a replica serving an
 * older epoch) gives way to the version rows of the snapshot's leaf (`historyBefore`). `at`: the snapshot of the answer this lookup is part of (a discovery's),
 * the source's hint (`ProofSource.proveLabel`).
 */
export async function proveLookup(
  dir: ProofSource,
  provider: string,
  accountInput: string,
  charge?: LookupCharge,
  at?: EpochSnapshot,
): Promise<LookupProof> {
  const account = askedFor(provider, accountInput);
  const [known, ahead] = await Promise.all([
    dir.labelFor(provider, account, charge?.absent && (() => charge.absent!())),
    at ? undefined : dir.headAhead?.(),
  ]);
  const { label, vrfProof } = known;
  for (let attempt = 0; attempt < 5; attempt++) {
    const { snap, map, leaf } = await dir.proveLabel(label, attempt === 0 ? (at ?? ahead?.snap) : undefined);
    const base = { provider, account, vrfProof, epoch: epochProof(snap), map };
    if (map.kind === 'absent' || !leaf) return { ...base, ...absence(dir, provider, snap.head) };
    // The rows read with the label are usually those of the leaf; if an epoch committed since, read again.
    const fresh = attempt === 0 && known.stored?.account.version === leaf.version ? known.stored : undefined;
    const [acc, row] = fresh?.latest
      ? [fresh.account, fresh.latest]
      : await Promise.all([dir.store.account(label), dir.store.version(label, leaf.version)]);
    // An account row behind the map's leaf is of an epoch before it: read again once it has caught up.
    if (!acc || !row || acc.version < leaf.version) continue;
    // One ahead of it is of an epoch after the served one (a replica whose newest servable epoch waits for
    // its witnesses, or a shard replicated ahead of its head): the leaf's version is proven as of its epoch,
    // unless a deletion since erased its statement, which is then never served again (busy, as for rows that
    // changed while they were read).
    const rowAhead = acc.version > leaf.version;
    if (rowAhead && !row.statement) continue;
    const previousHistory = rowAhead ? await historyBefore(dir, label, leaf, row) : acc.previousHistory;
    if (!previousHistory) continue;
    const v = await versionProof(dir, row, snap.head);
    return { ...base, present: { ...v, previousHistory } };
  }
  throw new DirectoryError('busy', 'the directory changed during every attempt; retry');
}

/**
 * The history of (provider, account) after version `since` (0 for all of it), ending in a lookup. `asked` names
 * the request's parameter that gave `since` in a refusal (a daily check's is its `version`).
 */
export async function proveHistory(
  dir: ProofSource,
  provider: string,
  accountInput: string,
  since: number,
  charge?: LookupCharge,
  asked = 'since',
): Promise<HistoryProof> {
  if (!Number.isSafeInteger(since) || since < 0)
    throw new DirectoryError('bad_request', `${asked} must be a non-negative integer`);
  const proof = await proveLookup(dir, provider, accountInput, charge);
  const latest = proof.present?.version ?? 0;
  if (since > latest && proof.notEnrolled)
    throw new DirectoryError('bad_request', `provider ${provider} is not enrolled: its accounts have no versions`);
  if (since > latest)
    throw new DirectoryError('bad_request', `${asked} (${since}) is above the latest version (${latest})`);
  // Versions in between exist only for a known name: its label is one store read, never a VRF proof.
  const between = async () => (await dir.labelFor(proof.provider, proof.account)).label;
  const rows = latest - since > 1 ? await dir.store.versions(await between(), since + 1, latest - 1) : [];
  // Older versions' enrolments are proven in the credential set of the lookup's own epoch.
  const head = decodeEntry(proof.epoch.headEntry) as EpochHeadEntry;
  const versions = await Promise.all(rows.map((r) => versionProof(dir, r, head)));
  return { since, versions, lookup: proof };
}

/** Looks one account name up under every provider, all lookups from one epoch (retrying if one closes). */
export async function proveDiscovery(
  dir: ProofSource,
  accountInput: string,
  charge?: LookupCharge,
): Promise<DiscoveryProof> {
  const account = canonicalAccount(accountInput);
  for (let attempt = 0; attempt < 5; attempt++) {
    const { snap } = await dir.snapshot();
    const set = dir.credentials.all().slice(0, snap.head.credentialCount);
    const providers = [...new Set(set.map((c) => c.entry.providerId))].sort();
    if (attempt === 0) await charge?.lookups?.(providers.length);
    const lookups: LookupProof[] = [];
    for (const [i, provider] of providers.entries()) {
      const absent = () => charge?.absent?.(providers.length - i);
      lookups.push(await proveLookup(dir, provider, account, { absent }, snap));
    }
    if (lookups.every((l) => l.epoch.headIndex === snap.headIndex))
      return { account, credentials: set.map((c) => c.entryBytes), lookups };
  }
  throw new DirectoryError('busy', 'the directory changed during every attempt; retry');
}

/**
 * The owner's check of (provider, account) at `version` (>= 1): the map proof of its leaf in the current
 * epoch when that is still the latest version, else the history since `version`; busy for a version the store
 * holds in an epoch after the served one.
 */
export async function proveMonitorCheck(
  dir: ProofSource,
  provider: string,
  accountInput: string,
  version: number,
  charge?: LookupCharge,
): Promise<MonitorProof> {
  if (!Number.isSafeInteger(version) || version < 1)
    throw new DirectoryError('bad_request', 'version must be a positive integer');
  const account = askedFor(provider, accountInput);
  const { label } = await dir.labelFor(provider, account, charge?.absent && (() => charge.absent!()));
  const { snap, map, leaf } = await dir.proveLabel(label);
  if (leaf && leaf.version === version) return { unchanged: { epoch: epochProof(snap), map } };
  // A version committed in an epoch after the served one (a replica behind its account rows) cannot be checked
  // there yet: busy, not the history's refusal of a version above the latest (400), which says it does not exist.
  if ((leaf?.version ?? 0) < version && ((await dir.store.account(label))?.version ?? 0) >= version)
    throw new DirectoryError('busy', `version ${version} is in an epoch this server does not serve yet; retry`);
  return { history: await proveHistory(dir, provider, account, version, charge, 'version') };
}
