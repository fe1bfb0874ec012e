/**
 * The JSON form of the directory's proofs (docs/PROTOCOL.md section 17.1), as the HTTP API serves them and
 * clients read them: byte strings are canonical base64, lists of hashes are one base64 string of the
 * concatenated 32-byte hashes, and the map proof is its binary encoding (section 15.5) in base64. Every proof
 * object (a lookup, history, discovery or monitor proof, at the top or nested) carries `"format": 1`, the
 * version of its form (section 17.3). Decoding is strict: the format is checked first (a version this code
 * does not read is `unsupported_format`), then exact field names at every level (unknown fields refused),
 * canonical base64, safe integers, hashes of 32 bytes. Pure: usable by the server, browsers and Workers alike.
 */
import type { DiscoveryProof, HistoryProof, LookupProof, MonitorProof, VersionProof } from './proofs.js';
import { decodeMapProof, encodeMapProof, type MapProof } from './map-proof.js';
import {
  b64,
  bytes,
  enrolmentFromJson,
  enrolmentToJson,
  epochFromJson,
  epochToJson,
  int,
  list,
  obj,
  PROOF_FORMAT,
  ProofJsonError,
  proofObj,
  str,
  type Json,
  type ReadOptions,
} from './proof-json-fields.js';

export { ProofJsonError, PROOF_FORMAT, READABLE_FORMATS, type ReadOptions } from './proof-json-fields.js';
export { lookupsToJsonBytes, lookupToJsonBytes } from './proof-json-bytes.js';

const CASES = ['present', 'absent', 'notEnrolled'];

function mapFromJson(v: unknown, what: string): MapProof {
  const b = bytes(v, what);
  try {
    return decodeMapProof(b);
  } catch (e) {
    throw new ProofJsonError('bad_proof_json', `${what}: ${(e as Error).message}`);
  }
}

function versionToJson(v: VersionProof): Json {
  if (v.commitment) return { version: v.version, commitment: b64(v.commitment) };
  return {
    version: v.version,
    statement: b64(v.statement!),
    signature: b64(v.signature!),
    opening: b64(v.opening!),
    enrolment: enrolmentToJson(v.enrolment!),
  };
}

function versionFromJson(v: unknown, what: string, extra: string[] = []): VersionProof {
  const o = v as Json;
  if (o && typeof o === 'object' && 'commitment' in o) {
    const c = obj(v, what, ['version', 'commitment']);
    return { version: int(c.version, `${what}.version`), commitment: bytes(c.commitment, `${what}.commitment`, 32) };
  }
  const s = obj(v, what, ['version', 'statement', 'signature', 'opening', 'enrolment', ...extra]);
  return {
    version: int(s.version, `${what}.version`),
    statement: bytes(s.statement, `${what}.statement`),
    signature: bytes(s.signature, `${what}.signature`),
    opening: bytes(s.opening, `${what}.opening`, 32),
    enrolment: enrolmentFromJson(s.enrolment, `${what}.enrolment`),
  };
}

export function lookupToJson(p: LookupProof): Json {
  const out: Json = {
    format: PROOF_FORMAT,
    provider: p.provider,
    account: p.account,
    vrfProof: b64(p.vrfProof),
    epoch: epochToJson(p.epoch),
    map: b64(encodeMapProof(p.map)),
  };
  if (p.present) out.present = { ...versionToJson(p.present), previousHistory: b64(p.present.previousHistory) };
  else if (p.absent) out.absent = { enrolment: enrolmentToJson(p.absent.enrolment) };
  else if (p.notEnrolled) out.notEnrolled = { credentials: p.notEnrolled.credentials.map(b64) };
  return out;
}

/** The case of a lookup: exactly one of `present`, `absent` and `notEnrolled` (docs/PROTOCOL.md section 17). */
function lookupCaseFromJson(o: Json): Pick<LookupProof, 'present' | 'absent' | 'notEnrolled'> {
  const given = CASES.filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw new ProofJsonError('bad_proof_json', 'a lookup has exactly one of "present", "absent" and "notEnrolled"');
  if (o.absent !== undefined)
    return { absent: { enrolment: enrolmentFromJson(obj(o.absent, 'absent', ['enrolment']).enrolment) } };
  if (o.notEnrolled !== undefined) {
    const n = obj(o.notEnrolled, 'notEnrolled', ['credentials']);
    const credentials = list(n.credentials, 'notEnrolled.credentials');
    return { notEnrolled: { credentials: credentials.map((c, i) => bytes(c, `notEnrolled.credentials[${i}]`)) } };
  }
  const fields = ['version', 'statement', 'signature', 'opening', 'enrolment', 'previousHistory'];
  const p = obj(o.present, 'present', fields);
  return {
    present: {
      ...versionFromJson(p, 'present', ['previousHistory']),
      previousHistory: bytes(p.previousHistory, 'present.previousHistory', 32),
    },
  };
}

export function lookupFromJson(v: unknown, opts: ReadOptions = {}): LookupProof {
  const o = proofObj(v, 'lookup', ['provider', 'account', 'vrfProof', 'epoch', 'map'], CASES, opts);
  return {
    provider: str(o.provider, 'provider'),
    account: str(o.account, 'account'),
    vrfProof: bytes(o.vrfProof, 'vrfProof', 80),
    epoch: epochFromJson(o.epoch),
    map: mapFromJson(o.map, 'map'),
    ...lookupCaseFromJson(o),
  };
}

export function historyToJson(h: HistoryProof): Json {
  return {
    format: PROOF_FORMAT,
    since: h.since,
    versions: h.versions.map(versionToJson),
    lookup: lookupToJson(h.lookup),
  };
}

export function historyFromJson(v: unknown, opts: ReadOptions = {}): HistoryProof {
  const o = proofObj(v, 'history', ['since', 'versions', 'lookup'], [], opts);
  const versions = list(o.versions, 'history.versions').map((x, i) => versionFromJson(x, `versions[${i}]`));
  return { since: int(o.since, 'since'), versions, lookup: lookupFromJson(o.lookup, opts) };
}

export function discoveryToJson(d: DiscoveryProof): Json {
  return {
    format: PROOF_FORMAT,
    account: d.account,
    credentials: d.credentials.map(b64),
    lookups: d.lookups.map(lookupToJson),
  };
}

export function discoveryFromJson(v: unknown, opts: ReadOptions = {}): DiscoveryProof {
  const o = proofObj(v, 'discovery', ['account', 'credentials', 'lookups'], [], opts);
  return {
    account: str(o.account, 'account'),
    credentials: list(o.credentials, 'credentials').map((c, i) => bytes(c, `credentials[${i}]`)),
    lookups: list(o.lookups, 'lookups').map((l) => lookupFromJson(l, opts)),
  };
}

export function monitorToJson(m: MonitorProof): Json {
  if ('history' in m) return { format: PROOF_FORMAT, history: historyToJson(m.history) };
  const unchanged = { epoch: epochToJson(m.unchanged.epoch), map: b64(encodeMapProof(m.unchanged.map)) };
  return { format: PROOF_FORMAT, unchanged };
}

export function monitorFromJson(v: unknown, opts: ReadOptions = {}): MonitorProof {
  const o = proofObj(v, 'monitor', [], ['unchanged', 'history'], opts);
  if ((o.unchanged === undefined) === (o.history === undefined))
    throw new ProofJsonError('bad_proof_json', 'a monitor proof is either "unchanged" or "history"');
  if (o.history !== undefined) return { history: historyFromJson(o.history, opts) };
  const u = obj(o.unchanged, 'unchanged', ['epoch', 'map']);
  return { unchanged: { epoch: epochFromJson(u.epoch), map: mapFromJson(u.map, 'unchanged.map') } };
}
