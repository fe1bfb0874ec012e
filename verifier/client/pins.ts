/**
 * Pins as a client developer holds them: the JSON object `kt trust --save` writes (`kt-pins.json`), checked
 * strictly and turned into the verifier's `Pins`. Fields (docs/VERIFIER.md section 1, PROTOCOL.md 18.1):
 *
 *     {"server": "https://kt.example", "origin": "...", "logKey": "<C2SP verifier key>",
 *      "vrfKey": "<base64 of 32 bytes>", "witnesses": ["<cosigner key>", ...], "witnessQuorum": 0,
 *      "maxAgeSeconds": 86400, "maxLagSeconds": 60}
 *
 * `server` is optional (a client may be given the URL apart); `witnesses`, `witnessQuorum` and
 * `maxAgeSeconds` are the client's witness policy, never the server's advertised one; `maxLagSeconds`, also
 * optional, is how old an answer from a replica that lags behind the newest checkpoint the client kept may
 * be and still be taken (LookupClientOptions.maxLagSeconds; absent: such an answer is a rollback). Unknown
 * fields, malformed keys and impossible policies are refused with a `PinsError` (`bad_pins`).
 */
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../../wasm-free-crypto/cosignature.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import type { Pins } from '../verification/lookup-verifier.js';

/** The pins' JSON form. */
export interface PinsJson {
  server?: string;
  origin: string;
  logKey: string;
  vrfKey: string;
  witnesses?: string[];
  witnessQuorum?: number;
  maxAgeSeconds?: number;
  maxLagSeconds?: number;
}

/** Pins that cannot be used (`bad_pins`), or a kept state that is not of these pins (`bad_state`). */
export class PinsError extends CodedError<'bad_pins' | 'bad_state'> {
  override readonly name = 'PinsError';
}

const FIELDS = ['server', 'origin', 'logKey', 'vrfKey', 'witnesses', 'witnessQuorum', 'maxAgeSeconds', 'maxLagSeconds'];

/** A directory's base URL: http(s), no query or fragment, trailing slashes removed. */
export function checkServerUrl(url: unknown, where = 'pins'): string {
  if (typeof url !== 'string' || !/^https?:\/\/[^\s?#]+$/.test(url))
    throw new PinsError('bad_pins', `${where}: server must be an http(s) URL without query or fragment`);
  return url.replace(/\/+$/, '');
}

/** Checks a parsed pins object and returns it with only the pin fields, the policy's defaults filled in. */
export function checkPins(v: unknown, where = 'pins'): PinsJson & { witnesses: string[]; witnessQuorum: number } {
  const o = v as Record<string, unknown>;
  const bad = (m: string) => new PinsError('bad_pins', `${where}: ${m}`);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('not a JSON object');
  const unknown = Object.keys(o).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) throw bad(`unknown fields ${unknown.join(', ')}`);
  if (typeof o.origin !== 'string' || typeof o.logKey !== 'string' || typeof o.vrfKey !== 'string')
    throw bad('origin, logKey and vrfKey are required strings');
  const witnesses = o.witnesses ?? [];
  if (!Array.isArray(witnesses) || !witnesses.every((w) => typeof w === 'string'))
    throw bad('witnesses must be a list of cosigner keys');
  const quorum = o.witnessQuorum ?? 0;
  if (!Number.isSafeInteger(quorum) || (quorum as number) < 0)
    throw bad('witnessQuorum must be a non-negative integer');
  for (const name of ['maxAgeSeconds', 'maxLagSeconds'] as const)
    if (o[name] !== undefined && !(Number.isSafeInteger(o[name]) && (o[name] as number) > 0))
      throw bad(`${name} must be a positive integer`);
  const pins: PinsJson & { witnesses: string[]; witnessQuorum: number } = {
    origin: o.origin,
    logKey: o.logKey,
    vrfKey: o.vrfKey,
    witnesses: witnesses as string[],
    witnessQuorum: quorum as number,
  };
  if (o.server !== undefined) pins.server = checkServerUrl(o.server, where);
  if (o.maxAgeSeconds !== undefined) pins.maxAgeSeconds = o.maxAgeSeconds as number;
  if (o.maxLagSeconds !== undefined) pins.maxLagSeconds = o.maxLagSeconds as number;
  toVerifierPins(pins, where); // every key parses and the policy is possible
  return pins;
}

/** The verifier's pins from their JSON form: the keys parsed, the witness policy checked. */
export function toVerifierPins(p: PinsJson, where = 'pins'): Pins {
  const witnesses = p.witnesses ?? [];
  const quorum = p.witnessQuorum ?? 0;
  try {
    const vrfKey = fromBase64(p.vrfKey);
    if (vrfKey.length !== 32) throw new Error('vrfKey must be 32 bytes');
    if (quorum > new Set(witnesses).size)
      throw new Error(`a witness quorum of ${quorum} needs that many distinct witnesses`);
    if (p.maxAgeSeconds !== undefined && quorum < 1)
      throw new Error('maxAgeSeconds needs a witness quorum of at least 1');
    const policy =
      witnesses.length > 0 || quorum > 0
        ? { witnesses: witnesses.map((w) => parseCosignerKey(w)), quorum, maxAgeSeconds: p.maxAgeSeconds }
        : undefined;
    return { origin: p.origin, logKey: parseVerifierKey(p.logKey), vrfKey, policy };
  } catch (e) {
    throw new PinsError('bad_pins', `${where}: ${(e as Error).message}`);
  }
}
