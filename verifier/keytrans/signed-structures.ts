/**
 * The encoders of the structures that draft-ietf-keytrans-protocol-05 signs or hashes, written with the strict
 * TLS writer (tls.ts): Configuration and the TreeHeadTBS, AuditorTreeHeadTBS and UpdateTBS built on it ("Tree
 * Head Signature", "Auditor Tree Head Signature", "Update Format"), UpdateValue and CommitmentValue
 * ("Commitment"), VrfInput ("Verifiable Random Function") and LogEntry ("Log Tree"). The draft's "Presentation
 * Language" section requires these bytes to be the TLS encoding exactly, so each encoder refuses a value it cannot
 * write faithfully (a field present in a mode that does not carry it, a root of the wrong length) with `TlsError`.
 * The one decoder here is Configuration's, strict as the writer (a deployment publishes its configuration and a
 * client reads it); the messages' codecs are in structures.ts.
 */
import { DEPLOYMENT_MODE, writeLogEntry } from './structures.js';
import { type TlsReader, type TlsWriter, TlsError, decodeWhole, encodeWith } from './tls.js';
import type { Configuration, DeploymentMode, LogEntry, UpdateValue, VrfInput } from './types.js';

/** Hash.Nh of both cipher suites (SHA-256): the length of `root` and `prefix_tree` ("KT Cipher Suites"). */
const NH = 32;

/** `enum DeploymentMode` ("Tree Head Signature"): reserved(0) is never written. */
const MODE_VALUES: Record<DeploymentMode, number> = {
  contactMonitoring: 1,
  thirdPartyManagement: 2,
  thirdPartyAuditing: 3,
};

/** `CommitmentValue` ("Commitment"): what a commitment opens to. */
export interface CommitmentValue {
  /** `opaque opening[Nc]`. */
  opening: Uint8Array;
  label: Uint8Array;
  version: number;
  update: UpdateValue;
}

/** A field that must be absent in this mode (draft "Tree Head Signature": the select on the mode). */
function refuseField(present: boolean, name: string, mode: DeploymentMode): void {
  if (present) throw new TlsError('tls_bad_value', `Configuration: ${name} is not carried in mode ${mode}`);
}

/** A field that the mode requires. */
function required<T>(value: T | undefined, name: string, mode: DeploymentMode): T {
  if (value === undefined) throw new TlsError('tls_bad_value', `Configuration: ${name} is required in mode ${mode}`);
  return value;
}

/**
 * The `select (Configuration.mode)` of Configuration ("Tree Head Signature"): leaf_public_key in
 * thirdPartyManagement only (README deviation 2: not in contactMonitoring), the auditor's three fields in
 * thirdPartyAuditing only.
 */
function writeModeFields(w: TlsWriter, c: Configuration): void {
  const managed = c.mode === 'thirdPartyManagement';
  const audited = c.mode === 'thirdPartyAuditing';
  if (managed) w.vector(2, required(c.leafPublicKey, 'leaf_public_key', c.mode), 'leaf_public_key');
  else refuseField(c.leafPublicKey !== undefined, 'leaf_public_key', c.mode);
  if (audited) {
    w.u64(required(c.maxAuditorLag, 'max_auditor_lag', c.mode), 'max_auditor_lag');
    w.u64(required(c.auditorStartPos, 'auditor_start_pos', c.mode), 'auditor_start_pos');
    w.vector(2, required(c.auditorPublicKey, 'auditor_public_key', c.mode), 'auditor_public_key');
  } else {
    const any = c.maxAuditorLag !== undefined || c.auditorStartPos !== undefined || c.auditorPublicKey !== undefined;
    refuseField(any, 'the auditor fields', c.mode);
  }
}

/** Writes `Configuration` ("Tree Head Signature"). */
export function writeConfiguration(w: TlsWriter, c: Configuration): void {
  const mode = MODE_VALUES[c.mode];
  if (mode === undefined) throw new TlsError('tls_bad_value', `Configuration: unknown mode ${String(c.mode)}`);
  w.u16(c.ciphersuite, 'ciphersuite').u8(mode, 'mode');
  w.vector(2, c.signaturePublicKey, 'signature_public_key').vector(2, c.vrfPublicKey, 'vrf_public_key');
  writeModeFields(w, c);
  w.u64(c.maxAhead, 'max_ahead').u64(c.maxBehind, 'max_behind');
  w.u64(c.reasonableMonitoringWindow, 'reasonable_monitoring_window');
  w.optional(c.maximumLifetime, 'maximum_lifetime', (x, v) => x.u64(v, 'maximum_lifetime'));
}

/** The encoding of `Configuration`. */
export function encodeConfiguration(c: Configuration): Uint8Array {
  return encodeWith(c, writeConfiguration);
}

/** Reads `Configuration` ("Tree Head Signature"): the mode's select as the writer writes it. */
function readConfiguration(r: TlsReader): Configuration {
  const ciphersuite = r.u16('ciphersuite');
  if (ciphersuite !== 0x0001 && ciphersuite !== 0x0002)
    throw new TlsError('tls_bad_value', `Configuration: cipher suite ${ciphersuite} is not one the draft names`);
  const mode = DEPLOYMENT_MODE.read(r);
  const signaturePublicKey = r.vector(2, 'signature_public_key');
  const vrfPublicKey = r.vector(2, 'vrf_public_key');
  const managed = mode === 'thirdPartyManagement' ? { leafPublicKey: r.vector(2, 'leaf_public_key') } : {};
  const audited =
    mode === 'thirdPartyAuditing'
      ? {
          maxAuditorLag: r.u64('max_auditor_lag'),
          auditorStartPos: r.u64('auditor_start_pos'),
          auditorPublicKey: r.vector(2, 'auditor_public_key'),
        }
      : {};
  const maxAhead = r.u64('max_ahead');
  const maxBehind = r.u64('max_behind');
  const reasonableMonitoringWindow = r.u64('reasonable_monitoring_window');
  const maximumLifetime = r.optional('maximum_lifetime', (x) => x.u64('maximum_lifetime'));
  return {
    ciphersuite,
    mode,
    signaturePublicKey,
    vrfPublicKey,
    ...managed,
    ...audited,
    maxAhead,
    maxBehind,
    reasonableMonitoringWindow,
    maximumLifetime,
  };
}

/** Decodes a whole `Configuration`; TlsError for trailing bytes or anything the writer would not write. */
export function decodeConfiguration(bytes: Uint8Array): Configuration {
  return decodeWhole(bytes, 'Configuration', readConfiguration);
}

/** `TreeHeadTBS` ("Tree Head Signature"): config, tree_size, root[Hash.Nh]. */
export function encodeTreeHeadTbs(config: Configuration, treeSize: number, root: Uint8Array): Uint8Array {
  return encodeWith(config, (w, c) => {
    writeConfiguration(w, c);
    w.u64(treeSize, 'tree_size').bytesFixed(root, NH, 'root');
  });
}

/** `AuditorTreeHeadTBS` ("Auditor Tree Head Signature"): config, timestamp, tree_size, root[Hash.Nh]. */
export function encodeAuditorTreeHeadTbs(
  config: Configuration,
  timestamp: number,
  treeSize: number,
  root: Uint8Array,
): Uint8Array {
  return encodeWith(config, (w, c) => {
    writeConfiguration(w, c);
    w.u64(timestamp, 'timestamp').u64(treeSize, 'tree_size').bytesFixed(root, NH, 'root');
  });
}

/** `UpdateTBS` ("Update Format"): config, label<0..2^8-1>, uint32 version, value<0..2^32-1>. */
export function encodeUpdateTbs(
  config: Configuration,
  label: Uint8Array,
  version: number,
  value: Uint8Array,
): Uint8Array {
  return encodeWith(config, (w, c) => {
    writeConfiguration(w, c);
    w.vector(1, label, 'label').u32(version, 'version').vector(4, value, 'value');
  });
}

/** Writes `UpdateValue` ("Update Format"): value<0..2^32-1>, then the UpdateSuffix (a signature, or nothing). */
export function writeUpdateValue(w: TlsWriter, v: UpdateValue): void {
  w.vector(4, v.value, 'value');
  if (v.suffix.signature !== undefined) w.vector(2, v.suffix.signature, 'suffix.signature');
}

/** The encoding of `UpdateValue`; the suffix's signature is present exactly in thirdPartyManagement mode. */
export function encodeUpdateValue(v: UpdateValue): Uint8Array {
  return encodeWith(v, writeUpdateValue);
}

/** `CommitmentValue` ("Commitment"): opening[Nc], label<0..2^8-1>, uint32 version, UpdateValue. */
export function encodeCommitmentValue(c: CommitmentValue, openingLength: number): Uint8Array {
  return encodeWith(c, (w, x) => {
    w.bytesFixed(x.opening, openingLength, 'opening').vector(1, x.label, 'label').u32(x.version, 'version');
    writeUpdateValue(w, x.update);
  });
}

/** `VrfInput` ("Verifiable Random Function"): label<0..2^8-1>, uint32 version. */
export function encodeVrfInput(input: VrfInput): Uint8Array {
  return encodeWith(input, (w, x) => w.vector(1, x.label, 'label').u32(x.version, 'version'));
}

/** `LogEntry` ("Log Tree"): uint64 timestamp, prefix_tree[Hash.Nh]. */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  return encodeWith(entry, writeLogEntry);
}
