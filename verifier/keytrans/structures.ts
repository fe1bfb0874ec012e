/**
 * The TLS codecs of the parts draft-ietf-keytrans-protocol-05's messages are made of: tree heads ("Tree Head
 * Signature", "Auditor Tree Head Signature", "Full Tree Head Verification"), update values ("Update Format"), log
 * entries ("Log Tree"), the log tree's inclusion proof, the prefix tree's proof and the combined tree's proof
 * ("Tree Proofs"), and binary ladder steps ("Search"). Each structure has a `read` and a `write` over tls.ts; what
 * the draft selects on the deployment mode or the cipher suite takes a `StructureContext`. Reading is strict:
 * fixed-length fields have their exact length, enumerations only the values the draft names (`reserved(0)` and
 * anything past the last name are refused), and tls.ts refuses truncation and trailing bytes. The messages built
 * from these parts are in messages.ts; the structures that are signed or hashed, in signed-structures.ts.
 */
import { TlsError, type TlsReader, type TlsWriter } from './tls.js';
import type {
  AuditorTreeHead,
  BinaryLadderStep,
  CipherSuiteId,
  CombinedTreeProof,
  DeploymentMode,
  FullTreeHead,
  InclusionProof,
  LogEntry,
  PrefixLeaf,
  PrefixProof,
  PrefixSearchResult,
  TreeHead,
  UpdateInfo,
  UpdateSuffix,
  UpdateValue,
} from './types.js';

/** What decoding some structures needs to know: the deployment's cipher suite and mode. */
export interface StructureContext {
  suite: CipherSuiteId;
  mode: DeploymentMode;
}

/** Hash.Nh of both suites (SHA-256), and VRF.Nh (the draft truncates the VRF output to 32 bytes). */
export const HASH_LENGTH = 32;
export const VRF_OUTPUT_LENGTH = 32;
/** Nc, the length of a commitment's opening ("Commitment"). */
export const OPENING_LENGTH = 16;

/** VRF.Np, a VRF proof's length: ECVRF-P256-SHA256-TAI 81 bytes, ECVRF-EDWARDS25519-SHA512-TAI 80 (RFC 9381). */
export function vrfProofLength(suite: CipherSuiteId): number {
  return suite === 0x0001 ? 81 : 80;
}

/** An enumeration's value by its name, and back; refusing values it does not name. */
export function enumeration<T extends string>(what: string, names: Record<number, T>) {
  const values = new Map(Object.entries(names).map(([v, n]) => [n, Number(v)]));
  return {
    read(r: TlsReader): T {
      const v = r.u8(what);
      const name = names[v];
      if (name === undefined) throw new TlsError('tls_bad_value', `${what}: ${v} is not a value the draft names`);
      return name;
    },
    write(w: TlsWriter, name: T): void {
      const v = values.get(name);
      if (v === undefined) throw new TlsError('tls_bad_value', `${what}: ${name} is not a value the draft names`);
      w.u8(v, what);
    },
  };
}

export const DEPLOYMENT_MODE = enumeration<DeploymentMode>('DeploymentMode', {
  1: 'contactMonitoring',
  2: 'thirdPartyManagement',
  3: 'thirdPartyAuditing',
});
const HEAD_TYPE = enumeration<FullTreeHead['headType']>('FullTreeHeadType', { 1: 'same', 2: 'updated' });
const RESULT_TYPE = enumeration<PrefixSearchResult['resultType']>('PrefixSearchResultType', {
  1: 'inclusion',
  2: 'nonInclusionLeaf',
  3: 'nonInclusionParent',
});

export const readHash = (r: TlsReader, what: string) => r.bytesFixed(HASH_LENGTH, what);
export const writeHash = (w: TlsWriter, h: Uint8Array, what: string) => w.bytesFixed(h, HASH_LENGTH, what);

export function readTreeHead(r: TlsReader): TreeHead {
  return { treeSize: r.u64('TreeHead.tree_size'), signature: r.vector(2, 'TreeHead.signature') };
}
export function writeTreeHead(w: TlsWriter, h: TreeHead): void {
  w.u64(h.treeSize, 'TreeHead.tree_size').vector(2, h.signature, 'TreeHead.signature');
}

export function readAuditorTreeHead(r: TlsReader): AuditorTreeHead {
  return {
    timestamp: r.u64('AuditorTreeHead.timestamp'),
    treeSize: r.u64('AuditorTreeHead.tree_size'),
    signature: r.vector(2, 'AuditorTreeHead.signature'),
  };
}
export function writeAuditorTreeHead(w: TlsWriter, h: AuditorTreeHead): void {
  w.u64(h.timestamp, 'AuditorTreeHead.timestamp').u64(h.treeSize, 'AuditorTreeHead.tree_size');
  w.vector(2, h.signature, 'AuditorTreeHead.signature');
}

/** FullTreeHead: an auditor's tree head follows an updated one exactly in thirdPartyAuditing mode. */
export function readFullTreeHead(r: TlsReader, ctx: StructureContext): FullTreeHead {
  const headType = HEAD_TYPE.read(r);
  if (headType === 'same') return { headType };
  const treeHead = readTreeHead(r);
  if (ctx.mode !== 'thirdPartyAuditing') return { headType, treeHead };
  return { headType, treeHead, auditorTreeHead: readAuditorTreeHead(r) };
}
export function writeFullTreeHead(w: TlsWriter, h: FullTreeHead, ctx: StructureContext): void {
  HEAD_TYPE.write(w, h.headType);
  if (h.headType === 'same') return;
  writeTreeHead(w, h.treeHead);
  const auditing = ctx.mode === 'thirdPartyAuditing';
  if (auditing !== (h.auditorTreeHead !== undefined))
    throw new TlsError('tls_bad_value', 'FullTreeHead: an auditor tree head goes with thirdPartyAuditing, only');
  if (h.auditorTreeHead) writeAuditorTreeHead(w, h.auditorTreeHead);
}

/** UpdateSuffix: a signature exactly in thirdPartyManagement mode. */
export function readUpdateSuffix(r: TlsReader, ctx: StructureContext): UpdateSuffix {
  return ctx.mode === 'thirdPartyManagement' ? { signature: r.vector(2, 'UpdateSuffix.signature') } : {};
}
export function writeUpdateSuffix(w: TlsWriter, s: UpdateSuffix, ctx: StructureContext): void {
  const managed = ctx.mode === 'thirdPartyManagement';
  if (managed !== (s.signature !== undefined))
    throw new TlsError('tls_bad_value', 'UpdateSuffix: a signature goes with thirdPartyManagement, only');
  if (s.signature) w.vector(2, s.signature, 'UpdateSuffix.signature');
}

export function readUpdateValue(r: TlsReader, ctx: StructureContext): UpdateValue {
  return { value: r.vector(4, 'UpdateValue.value'), suffix: readUpdateSuffix(r, ctx) };
}
export function writeUpdateValue(w: TlsWriter, v: UpdateValue, ctx: StructureContext): void {
  w.vector(4, v.value, 'UpdateValue.value');
  writeUpdateSuffix(w, v.suffix, ctx);
}

export const readOpening = (r: TlsReader) => r.bytesFixed(OPENING_LENGTH, 'opening');
export const writeOpening = (w: TlsWriter, o: Uint8Array) => w.bytesFixed(o, OPENING_LENGTH, 'opening');

/** UpdateInfo ("Updating a Label"): an opening, and the suffix of the deployment's mode. */
export function readUpdateInfo(r: TlsReader, ctx: StructureContext): UpdateInfo {
  return { opening: readOpening(r), suffix: readUpdateSuffix(r, ctx) };
}
export function writeUpdateInfo(w: TlsWriter, i: UpdateInfo, ctx: StructureContext): void {
  writeUpdateSuffix(writeOpening(w, i.opening), i.suffix, ctx);
}

export function readLogEntry(r: TlsReader): LogEntry {
  return { timestamp: r.u64('LogEntry.timestamp'), prefixTree: readHash(r, 'LogEntry.prefix_tree') };
}
export function writeLogEntry(w: TlsWriter, e: LogEntry): void {
  writeHash(w.u64(e.timestamp, 'LogEntry.timestamp'), e.prefixTree, 'LogEntry.prefix_tree');
}

export function readInclusionProof(r: TlsReader): InclusionProof {
  return { elements: r.list(2, 'InclusionProof.elements', (e) => readHash(e, 'InclusionProof element')) };
}
export function writeInclusionProof(w: TlsWriter, p: InclusionProof): void {
  w.list(2, p.elements, 'InclusionProof.elements', (e, h) => writeHash(e, h, 'InclusionProof element'));
}

export function readPrefixLeaf(r: TlsReader): PrefixLeaf {
  return {
    vrfOutput: r.bytesFixed(VRF_OUTPUT_LENGTH, 'PrefixLeaf.vrf_output'),
    commitment: readHash(r, 'PrefixLeaf.commitment'),
  };
}
export function writePrefixLeaf(w: TlsWriter, l: PrefixLeaf): void {
  w.bytesFixed(l.vrfOutput, VRF_OUTPUT_LENGTH, 'PrefixLeaf.vrf_output');
  writeHash(w, l.commitment, 'PrefixLeaf.commitment');
}

function readPrefixSearchResult(r: TlsReader): PrefixSearchResult {
  const resultType = RESULT_TYPE.read(r);
  if (resultType === 'nonInclusionLeaf') {
    const leaf = readPrefixLeaf(r);
    return { resultType, leaf, depth: r.u8('PrefixSearchResult.depth') };
  }
  return { resultType, depth: r.u8('PrefixSearchResult.depth') };
}
function writePrefixSearchResult(w: TlsWriter, s: PrefixSearchResult): void {
  RESULT_TYPE.write(w, s.resultType);
  if (s.resultType === 'nonInclusionLeaf') writePrefixLeaf(w, s.leaf);
  w.u8(s.depth, 'PrefixSearchResult.depth');
}

export function readPrefixProof(r: TlsReader): PrefixProof {
  return {
    results: r.list(1, 'PrefixProof.results', readPrefixSearchResult),
    elements: r.list(2, 'PrefixProof.elements', (e) => readHash(e, 'PrefixProof element')),
  };
}
export function writePrefixProof(w: TlsWriter, p: PrefixProof): void {
  w.list(1, p.results, 'PrefixProof.results', writePrefixSearchResult);
  w.list(2, p.elements, 'PrefixProof.elements', (e, h) => writeHash(e, h, 'PrefixProof element'));
}

export function readCombinedTreeProof(r: TlsReader): CombinedTreeProof {
  return {
    timestamps: r.list(1, 'CombinedTreeProof.timestamps', (e) => e.u64('timestamp')),
    prefixProofs: r.list(1, 'CombinedTreeProof.prefix_proofs', readPrefixProof),
    prefixRoots: r.list(1, 'CombinedTreeProof.prefix_roots', (e) => readHash(e, 'prefix root')),
    inclusion: readInclusionProof(r),
  };
}
export function writeCombinedTreeProof(w: TlsWriter, p: CombinedTreeProof): void {
  w.list(1, p.timestamps, 'CombinedTreeProof.timestamps', (e, t) => e.u64(t, 'timestamp'));
  w.list(1, p.prefixProofs, 'CombinedTreeProof.prefix_proofs', writePrefixProof);
  w.list(1, p.prefixRoots, 'CombinedTreeProof.prefix_roots', (e, h) => writeHash(e, h, 'prefix root'));
  writeInclusionProof(w, p.inclusion);
}

export function readBinaryLadderStep(r: TlsReader, ctx: StructureContext): BinaryLadderStep {
  return {
    proof: r.bytesFixed(vrfProofLength(ctx.suite), 'BinaryLadderStep.proof'),
    commitment: r.optional('BinaryLadderStep.commitment', (e) => readHash(e, 'BinaryLadderStep.commitment')),
  };
}
export function writeBinaryLadderStep(w: TlsWriter, s: BinaryLadderStep, ctx: StructureContext): void {
  w.bytesFixed(s.proof, vrfProofLength(ctx.suite), 'BinaryLadderStep.proof');
  w.optional(s.commitment, 'BinaryLadderStep.commitment', (e, h) => writeHash(e, h, 'BinaryLadderStep.commitment'));
}
