/**
 * The structures of draft-ietf-keytrans-protocol-05 as TypeScript values: one interface per `struct`, its fields
 * in the draft's order and under the draft's names in camelCase (`tree_size` is `treeSize`), byte strings as
 * `Uint8Array`, `uint64` and `uint32` as numbers, `optional<T>` as `T | null`, enumerations as the strings the
 * draft names them by. Their TLS codecs are in structures.ts; the vectors' `fields` use the same names in
 * snake_case. Where the draft's select depends on the deployment mode, the field is optional here and present
 * exactly in the modes that carry it.
 */

/** `enum DeploymentMode` (draft-05 "Tree Head Signature"). */
export type DeploymentMode = 'contactMonitoring' | 'thirdPartyManagement' | 'thirdPartyAuditing';

/** `uint16 CipherSuite`: KT_128_SHA256_P256 (0x0001) and KT_128_SHA256_Ed25519 (0x0002) ("KT Cipher Suites"). */
export type CipherSuiteId = 0x0001 | 0x0002;

export interface Configuration {
  ciphersuite: CipherSuiteId;
  mode: DeploymentMode;
  signaturePublicKey: Uint8Array;
  vrfPublicKey: Uint8Array;
  /** thirdPartyManagement only (see keytrans/README.md, deviation 2: not in contactMonitoring). */
  leafPublicKey?: Uint8Array;
  /** thirdPartyAuditing only. */
  maxAuditorLag?: number;
  auditorStartPos?: number;
  auditorPublicKey?: Uint8Array;
  maxAhead: number;
  maxBehind: number;
  reasonableMonitoringWindow: number;
  maximumLifetime: number | null;
}

export interface TreeHead {
  treeSize: number;
  signature: Uint8Array;
}

export interface AuditorTreeHead {
  timestamp: number;
  treeSize: number;
  signature: Uint8Array;
}

export type FullTreeHead =
  | { headType: 'same' }
  | { headType: 'updated'; treeHead: TreeHead; auditorTreeHead?: AuditorTreeHead };

/** `UpdateSuffix`: the signature in thirdPartyManagement mode, nothing otherwise. */
export interface UpdateSuffix {
  signature?: Uint8Array;
}

export interface UpdateValue {
  value: Uint8Array;
  suffix: UpdateSuffix;
}

export interface VrfInput {
  label: Uint8Array;
  version: number;
}

export interface LogEntry {
  timestamp: number;
  prefixTree: Uint8Array;
}

export interface InclusionProof {
  elements: Uint8Array[];
}

export type PrefixSearchResultType = 'inclusion' | 'nonInclusionLeaf' | 'nonInclusionParent';

export interface PrefixLeaf {
  vrfOutput: Uint8Array;
  commitment: Uint8Array;
}

export type PrefixSearchResult =
  | { resultType: 'inclusion' | 'nonInclusionParent'; depth: number }
  | { resultType: 'nonInclusionLeaf'; leaf: PrefixLeaf; depth: number };

export interface PrefixProof {
  results: PrefixSearchResult[];
  elements: Uint8Array[];
}

export interface CombinedTreeProof {
  timestamps: number[];
  prefixProofs: PrefixProof[];
  prefixRoots: Uint8Array[];
  inclusion: InclusionProof;
}

export interface SearchRequest {
  last: number | null;
  label: Uint8Array;
  version: number | null;
}

export interface BinaryLadderStep {
  proof: Uint8Array;
  commitment: Uint8Array | null;
}

export interface SearchResponse {
  fullTreeHead: FullTreeHead;
  /** Present exactly when the request had no version (a greatest-version search). */
  version?: number;
  opening: Uint8Array;
  value: UpdateValue;
  binaryLadder: BinaryLadderStep[];
  search: CombinedTreeProof;
}

export interface MonitorMapEntry {
  position: number;
  version: number;
}

export interface ContactMonitorRequest {
  last: number | null;
  label: Uint8Array;
  entries: MonitorMapEntry[];
}

export interface ContactMonitorResponse {
  fullTreeHead: FullTreeHead;
  monitor: CombinedTreeProof;
}

export interface OwnerInitRequest {
  last: number | null;
  label: Uint8Array;
  start: number;
}

export interface OwnerInitResponse {
  fullTreeHead: FullTreeHead;
  greatestVersions: number[];
  binaryLadder: BinaryLadderStep[];
  init: CombinedTreeProof;
}

export interface OwnerMonitorRequest {
  last: number | null;
  label: Uint8Array;
  entries: MonitorMapEntry[];
  start: number;
  greatestVersion: number | null;
}

export interface OwnerMonitorResponse {
  fullTreeHead: FullTreeHead;
  monitor: CombinedTreeProof;
}

export interface LabelValue {
  value: Uint8Array;
}

export interface UpdateRequest {
  last: number | null;
  label: Uint8Array;
  greatestVersion: number | null;
  values: LabelValue[];
}

export interface UpdateInfo {
  opening: Uint8Array;
  suffix: UpdateSuffix;
}

export interface UpdateResponse {
  fullTreeHead: FullTreeHead;
  position: number;
  values: LabelValue[];
  info: UpdateInfo[];
  binaryLadder: BinaryLadderStep[];
  update: CombinedTreeProof;
}

/** katie's field order (keytrans/README.md, deviation 1): `signedVersion` before `values`. */
export interface ManagerUpdateRequest {
  last: number | null;
  label: Uint8Array;
  greatestVersion: number | null;
  signedVersion: number;
  values: UpdateValue[];
}

export interface AuditorUpdate {
  timestamp: number;
  added: PrefixLeaf[];
  removed: PrefixLeaf[];
  proof: PrefixProof;
}
