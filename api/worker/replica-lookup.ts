/**
 * `GET /v1/lookup/:provider/:account` served by the stateless Worker when D1 is bound: the account's rows come from
 * the D1 replica (api/worker/d1-replica.ts), the VRF proof of an account D1 does not know is computed here (the
 * costly part of looking up an absent name), and the Durable Object is asked only for what lives in its memory: the
 * epoch, the label's map proof and leaf, and the enrolment proof of the credential that signed the latest version,
 * or for an absent account of the provider's first credential, whose log index D1 gives too (`LabelProof`,
 * log/directory/proof-builder.ts; docs/PROTOCOL.md section 17), after charging the lookup to the same per-client rate
 * limit as its own routes, keyed the same way (the client's IPv4 address or IPv6 prefix, from `cf-connecting-ip`): a
 * present name one token, in the call that proves it; an absent one `absentLookupCost` tokens, before its VRF proof. The answer is byte for byte what the object's own route answers for the same epoch (the
 * same code encodes it).
 *
 * D1 lags the object by the epochs not yet replicated, so its rows are served only when they are the map's leaf: same
 * version and history hash. Anything else (a lagging or empty replica, an account D1 has and the map has not, a
 * provider D1 has no enrolment of, which is not enrolled or was enrolled since D1's epoch, a refusal such as a
 * malformed account) is forwarded to the object, which answers from its own indexes with its own errors: a lookup at
 * a provider that is not enrolled, rare, carries the whole credential set, which only the object holds. A forward
 * says whether this path already took the client's token (`admitted`); the Worker then hands the request to the
 * object through an RPC that tells its app so, and the object does not take a second token. Nothing a client sends
 * can claim that (no header is trusted). A failure after the token was taken is a forward with `admitted` and the
 * error, which the Worker logs.
 */
import { canonicalAccount, providerIdValid } from '../../verifier/formats/account.js';
import type { LabelProof } from '../../log/directory/proof-builder.js';
import type { NamedAccount, VersionRow } from '../../log/directory/store.js';
import type { MapLeaf } from '../../verifier/formats/map-proof.js';
import type { EnrolmentProof, LookupProof } from '../../verifier/formats/proofs.js';
import { labelFromVrfOutput, vrfAlpha } from '../../verifier/formats/directory-hashes.js';
import { lookupToJsonBytes } from '../../verifier/formats/proof-json.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { vrfProofToHash, vrfProve } from '../../wasm-free-crypto/vrf.js';
import { rateLimitedResponse } from '../app/middleware.js';
import { clientKey } from '../app/rate-limit-keys.js';
import { replicaAccountByName, replicaFirstCredential, type IndexDatabase } from './d1-replica.js';

/** The lookup path's decision not to answer: forward to the object, saying whether a token was taken. */
export interface Forward {
  forward: true;
  admitted: boolean;
  /** What failed on this path, if something did (the Worker logs it). */
  failure?: unknown;
}

/** What the Durable Object answers: the label's proof, or the seconds to wait when rate limited. */
export type LabelAnswer = { proof: LabelProof } | { retryAfter: number };

export interface ReplicaLookupOptions {
  db: IndexDatabase;
  vrfSecretKey: Uint8Array;
  /** Asks the Durable Object (an RPC to the sequencer), taking a token of `client` unless it is null. */
  prove(label: Uint8Array, credentialIndex: number | null, client: string | null): Promise<LabelAnswer>;
  /**
   * Charges `client` an absent lookup, the surcharge of its VRF proof included (`absentLookupCost` tokens;
   * an RPC to the sequencer): 0, or the seconds to wait.
   */
  admit(client: string): Promise<number>;
  /** The prefix length IPv6 clients are keyed by (the setting `ipv6PrefixLength`). */
  ipv6PrefixBits: number;
}

/**
 * The lookup proof from D1's rows and the object's label proof, or a forward when they do not match.
 * `taken.admitted` is set once a call that took the client's token has answered.
 */
async function assemble(
  o: ReplicaLookupOptions,
  provider: string,
  account: string,
  client: string,
  taken: { admitted: boolean },
): Promise<LookupProof | { retryAfter: number } | Forward> {
  const [named, firstCredential] = await Promise.all([
    replicaAccountByName(o.db, provider, account),
    replicaFirstCredential(o.db, provider),
  ]);
  const latest = named?.latest;
  if (named && (!latest?.statement || !latest.signature || !latest.opening)) return { forward: true, admitted: false };
  if (!named && firstCredential === undefined) return { forward: true, admitted: false };
  // A name D1 does not know costs a VRF proof here: the client pays an absent lookup before it is computed.
  const retryAfter = named ? 0 : await o.admit(client);
  if (retryAfter > 0) return { retryAfter };
  taken.admitted = !named;
  const vrfProof = named ? named.account.vrfProof : vrfProve(o.vrfSecretKey, vrfAlpha(provider, account));
  const label = named ? named.account.label : labelFromVrfOutput(vrfProofToHash(vrfProof));
  const answer = await o.prove(label, latest?.credentialIndex ?? firstCredential!, named ? client : null);
  if ('retryAfter' in answer) return answer;
  taken.admitted = true;
  const { epoch, map, leaf, enrolment } = answer.proof;
  const base: LookupProof = { provider, account, vrfProof, epoch, map };
  if (!leaf) return named || !enrolment ? { forward: true, admitted: true } : { ...base, absent: { enrolment } };
  return named && latest && enrolment && isLeaf(named, leaf)
    ? present(base, named, latest, enrolment)
    : { forward: true, admitted: true };
}

/** Whether D1's account row is the map's leaf: same version and history hash. */
function isLeaf(named: NamedAccount, leaf: MapLeaf): boolean {
  return leaf.version === named.account.version && equalBytes(leaf.historyHash, named.account.history);
}

function present(base: LookupProof, named: NamedAccount, latest: VersionRow, enrolment: EnrolmentProof): LookupProof {
  return {
    ...base,
    present: {
      version: latest.version,
      statement: latest.statement!,
      signature: latest.signature!,
      opening: latest.opening!,
      enrolment,
      previousHistory: named.account.previousHistory,
    },
  };
}

/** The lookup path's answer: the response, or a forward of the request to the Durable Object. */
export async function replicaLookup(o: ReplicaLookupOptions, request: Request): Promise<Response | Forward> {
  const m = request.method === 'GET' ? /^\/v1\/lookup\/([^/]+)\/([^/]+)$/.exec(new URL(request.url).pathname) : null;
  if (!m) return { forward: true, admitted: false };
  let provider, account;
  try {
    // The bounds before any work (docs/PROTOCOL.md 12.1, 12.2): the object answers the refusal, 400.
    provider = decodeURIComponent(m[1]);
    if (!providerIdValid(provider)) throw new Error('not a provider id');
    account = canonicalAccount(decodeURIComponent(m[2]));
  } catch {
    return { forward: true, admitted: false };
  }
  const client = clientKey(request.headers.get('cf-connecting-ip'), o.ipv6PrefixBits);
  const taken = { admitted: false };
  try {
    const proof = await assemble(o, provider, account, client, taken);
    if ('forward' in proof) return proof;
    if ('retryAfter' in proof) return rateLimitedResponse(proof.retryAfter);
    return new Response(lookupToJsonBytes(proof), { headers: { 'Content-Type': 'application/json' } });
  } catch (failure) {
    return { forward: true, admitted: taken.admitted, failure };
  }
}
