/**
 * Checking an account, as the explorer does it: its history since version 0 (one request: the current
 * lookup and every version before it, verified as a chain by verifier/verification/lookup-verifier.ts),
 * the check lines of what was verified, who signed the current version (the enrolled credential's
 * certificate), the timeline of versions with their key changes and erasures, and, on request, the
 * discovery of the same account at every enrolled provider. Failures keep their typed error; a rollback or
 * fork the client reported is kept as evidence.
 */
import { toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { decodeEntry } from '../../verifier/formats/entries.js';
import { discoveryFromJson, historyFromJson } from '../../verifier/formats/proof-json.js';
import { parseCertificate } from '../../verifier/enrolment/certificate.js';
import { ClientError, relayedCode, VerifyError } from '../../verifier/verification/errors.js';
import type { HistoryResult, LookupResult } from '../../verifier/verification/lookup-verifier.js';
import type { Statement } from '../../verifier/formats/statement.js';
import type { HistoryProof } from '../../verifier/formats/proofs.js';
import { readBounded } from '../../verifier/http/bounded-body.js';
import { request } from '../../verifier/http/request.js';
import { exclusive, keptSize, policyOf, type Outcome, type Session } from './session.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';
import { publicKeyFingerprint } from './format.js';
import { failedChecks, passedChecks, type CheckLine } from './checks.js';

/** The enrolled credential that signed the current version, as its certificate says. */
export interface Signer {
  providerId: string;
  fingerprint: string;
  position: number;
  subject: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
}

/** One version of the timeline: its statement, or erased; the keys added and removed since the version before. */
export interface TimelineVersion {
  version: number;
  statement?: Statement;
  added: string[];
  removed: string[];
}

export type AccountOutcome =
  | { ok: true; history: HistoryResult; checks: CheckLine[]; signer?: Signer; timeline: TimelineVersion[] }
  | { ok: false; error: Error; checks?: CheckLine[]; evidence?: CheckpointEvidence };

/** The credential of the proof's current version (already verified with it), read from its enrolment entry. */
function signerOf(proof: HistoryProof): Signer | undefined {
  const enrolment = proof.lookup.present?.enrolment;
  if (!enrolment) return undefined;
  const entry = decodeEntry(enrolment.entry);
  if (entry.type !== 'enrol') return undefined;
  const leaf = parseCertificate(entry.chain[0], 'the leaf certificate');
  return {
    providerId: entry.providerId,
    fingerprint: toHex(sha256(leaf.tbs)),
    position: enrolment.position,
    subject: leaf.subjectName,
    issuer: leaf.issuerName,
    notBefore: entry.notBefore,
    notAfter: entry.notAfter,
  };
}

/** The versions oldest first, each with the keys it added and removed (compared by public key, named by id and fingerprint). */
export function timeline(statements: (Statement | undefined)[]): TimelineVersion[] {
  let before = new Map<string, string>();
  return statements.map((s, i) => {
    if (!s) return { version: i + 1, added: [], removed: [] };
    const now = new Map(
      s.keys.map((k) => [toBase64(k.publicKey), `${k.id} (${publicKeyFingerprint(k.publicKey).slice(0, 9)}…)`]),
    );
    const added = [...now].filter(([pk]) => !before.has(pk)).map(([, id]) => id);
    const removed = [...before].filter(([pk]) => !now.has(pk)).map(([, id]) => id);
    before = now;
    return { version: i + 1, statement: s, added, removed };
  });
}

/** Verifies the history of (provider, account) since version 0 and describes what was checked. */
export async function checkAccount(session: Session, provider: string, account: string): Promise<AccountOutcome> {
  const out = await exclusive(session, () =>
    session.kt.withLookupClient(async (c) => {
      const before = keptSize(session); // the kept checkpoint is loaded when the callback runs
      const history = await c.history(provider, account);
      const proof = historyFromJson(c.lastProofJson);
      const cp = c.verifier.checkpoints.verify(proof.lookup.epoch.checkpoint);
      const signer = signerOf(proof);
      const checks = passedChecks({
        result: history.lookup,
        cosignatures: cp.cosignatures,
        policy: policyOf(session),
        credential: signer && { fingerprint: signer.fingerprint, position: signer.position },
        keptSize: before,
        historyVersions: history.statements.length,
        now: Date.now(),
      });
      return { ok: true as const, history, checks, signer, timeline: timeline(history.statements) };
    }),
  );
  if (out.ok) return out.value;
  const { error, evidence } = out;
  if (error instanceof VerifyError)
    return { ok: false, error, evidence, checks: failedChecks(error.code, error.message, true) };
  return { ok: false, error, evidence };
}

async function postJson(session: Session, path: string, body: unknown): Promise<unknown> {
  const url = `${session.server}${path}`;
  const res = await request(globalThis.fetch.bind(globalThis), url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const text = new TextDecoder().decode(await readBounded(res, 16 * 1024 * 1024));
  let json: { error?: { code?: unknown; message?: unknown } };
  try {
    json = JSON.parse(text);
  } catch {
    throw new ClientError('bad_response', `${path}: HTTP ${res.status} with a body that is not JSON`);
  }
  if (res.status !== 200)
    throw new ClientError(
      typeof json.error?.code === 'string' ? relayedCode(json.error.code) : 'http_error',
      `${path}: HTTP ${res.status}: ${String(json.error?.message ?? 'no message')}`,
    );
  return json;
}

/** The verified discovery of `account` at every enrolled provider (one lookup per provider, one epoch). */
export async function discoverAccount(session: Session, account: string): Promise<Outcome<Map<string, LookupResult>>> {
  return exclusive(session, () =>
    session.kt.withLookupClient(async (c) => {
      const json = await postJson(session, '/v1/lookup', { discover: account });
      let proof;
      try {
        proof = discoveryFromJson(json);
      } catch (e) {
        throw new VerifyError('bad_proof_json', (e as Error).message);
      }
      const results = c.verifier.verifyDiscovery(proof, account);
      await c.advance(proof.lookups[0].epoch.checkpoint);
      return results;
    }),
  );
}
