/**
 * The pins file of `kt` (`kt-pins.json` by default): what a client trusts, fetched once with `kt trust
 * --server URL --save FILE` and checked out of band, then used by every verifying command.
 *
 *     {"server": "http://127.0.0.1:8787", "origin": "...", "logKey": "<C2SP verifier key>",
 *      "vrfKey": "<base64 of 32 bytes>", "witnesses": ["<cosigner key>", ...], "witnessQuorum": 0,
 *      "maxAgeSeconds": 86400}
 *
 * `witnesses`, `witnessQuorum` and `maxAgeSeconds` are the client's witness policy (docs/PROTOCOL.md
 * section 18.1); `maxAgeSeconds` is optional and needs a quorum of at least one. Parsing is strict:
 * unknown fields, malformed keys and impossible policies are refused.
 */
import { readFileSync } from 'node:fs';
import { fromBase64 } from '../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../wasm-free-crypto/note.js';
import type { Pins } from '../verifier/verification/lookup-verifier.js';
import { UsageError } from './output.js';

export interface PinsFile {
  server?: string;
  origin: string;
  logKey: string;
  vrfKey: string;
  witnesses: string[];
  witnessQuorum: number;
  maxAgeSeconds?: number;
}

const FIELDS = ['server', 'origin', 'logKey', 'vrfKey', 'witnesses', 'witnessQuorum', 'maxAgeSeconds'];

/** Checks a parsed pins object (from a file or from /v1/config) and returns it with only the pin fields. */
export function checkPins(v: unknown, where: string): PinsFile {
  const o = v as Record<string, unknown>;
  const bad = (m: string) => new UsageError(`${where}: ${m}`, 'bad_pins');
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
  if (o.maxAgeSeconds !== undefined && !(Number.isSafeInteger(o.maxAgeSeconds) && (o.maxAgeSeconds as number) > 0))
    throw bad('maxAgeSeconds must be a positive integer');
  if (o.server !== undefined && (typeof o.server !== 'string' || !/^https?:\/\/\S+$/.test(o.server)))
    throw bad('server must be an http(s) URL');
  const pins: PinsFile = {
    origin: o.origin,
    logKey: o.logKey,
    vrfKey: o.vrfKey,
    witnesses: witnesses as string[],
    witnessQuorum: quorum as number,
  };
  if (o.server !== undefined) pins.server = (o.server as string).replace(/\/+$/, '');
  if (o.maxAgeSeconds !== undefined) pins.maxAgeSeconds = o.maxAgeSeconds as number;
  toVerifierPins(pins, where); // every key parses and the policy is possible
  return pins;
}

export function readPins(path: string): PinsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read the pins file ${path} (${(e as Error).message}); make one with \`kt trust --server URL --save ${path}\``,
      'no_pins',
    );
  }
  try {
    return checkPins(JSON.parse(text), path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`, 'bad_pins');
  }
}

/** The verifier's pins from a pins file. */
export function toVerifierPins(p: PinsFile, where = 'pins'): Pins {
  try {
    const vrfKey = fromBase64(p.vrfKey);
    if (vrfKey.length !== 32) throw new Error('vrfKey must be 32 bytes');
    const distinct = new Set(p.witnesses).size;
    if (p.witnessQuorum > distinct)
      throw new Error(`a witness quorum of ${p.witnessQuorum} needs that many distinct witnesses`);
    if (p.maxAgeSeconds !== undefined && p.witnessQuorum < 1)
      throw new Error('maxAgeSeconds needs a witness quorum of at least 1');
    const policy =
      p.witnesses.length > 0 || p.witnessQuorum > 0
        ? {
            witnesses: p.witnesses.map((w) => parseCosignerKey(w)),
            quorum: p.witnessQuorum,
            maxAgeSeconds: p.maxAgeSeconds,
          }
        : undefined;
    return { origin: p.origin, logKey: parseVerifierKey(p.logKey), vrfKey, policy };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${where}: ${(e as Error).message}`, 'bad_pins');
  }
}
