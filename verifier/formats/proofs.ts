/**
 * The directory's proofs as values: what a lookup, a history and a discovery carry, as built by the directory
 * (log/directory/proof-builder.ts), encoded as JSON (verifier/formats/proof-json.ts) and checked by the verifier
 * (verifier/verification/lookup-verifier.ts). Types only.
 */
import type { MapProof } from './map-proof.js';

/** The epoch head as the last entry of the checkpoint's tree. */
export interface EpochProof {
  checkpoint: string;
  headIndex: number;
  headEntry: Uint8Array;
  headProof: Uint8Array[];
}

/**
 * A provider enrolment entry and its inclusion proof in the epoch head's credential set (the RFC 9162
 * tree of every enrolment entry so far, in log order): `position` in that set of `credentialCount`.
 */
export interface EnrolmentProof {
  position: number;
  entry: Uint8Array;
  proof: Uint8Array[];
}

/** A version's statement as committed: the opening and signature, or only the commitment once erased. */
export interface VersionProof {
  version: number;
  statement?: Uint8Array;
  signature?: Uint8Array;
  opening?: Uint8Array;
  enrolment?: EnrolmentProof;
  /** Present only for erased versions, whose statement and opening are gone. */
  commitment?: Uint8Array;
}

/**
 * A lookup of (provider, account) in one epoch. Besides the map proof of the label, it says which of three
 * cases it is, with exactly one of `present`, `absent` and `notEnrolled` (docs/PROTOCOL.md section 17).
 */
export interface LookupProof {
  provider: string;
  account: string;
  vrfProof: Uint8Array;
  epoch: EpochProof;
  map: MapProof;
  /** For a present (or deleted) account: its latest version, and historyHash of the version before. */
  present?: VersionProof & { previousHistory: Uint8Array };
  /** No such account at an enrolled provider: the provider's first enrolment in the epoch's credential set. */
  absent?: { enrolment: EnrolmentProof };
  /** A provider with no enrolment entry in the epoch's credential set: that whole set, in order. */
  notEnrolled?: { credentials: Uint8Array[] };
}

export interface HistoryProof {
  since: number;
  /** Versions since+1 .. latest-1, oldest first; the latest is in `lookup`. */
  versions: VersionProof[];
  lookup: LookupProof;
}

/**
 * Discovery: one account name looked up under every provider of the epoch's credential set. The proof
 * carries the whole set (the enrolment entries), so a client can check that no provider was left out.
 */
export interface DiscoveryProof {
  account: string;
  /** Every enrolment entry of the epoch's credential set, in order. */
  credentials: Uint8Array[];
  /** One lookup per provider id in the set, all in the same epoch. */
  lookups: LookupProof[];
}

/**
 * The owner's daily check (`GET /v1/monitor`): when the account is still at the version the owner last
 * verified, only the epoch and the map proof of the leaf the owner already knows; otherwise its history
 * since that version.
 */
export type MonitorProof = { unchanged: { epoch: EpochProof; map: MapProof } } | { history: HistoryProof };
