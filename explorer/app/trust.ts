/**
 * The explorer's trust: the pins it verifies with, kept in this browser, never taken silently from the
 * directory it checks. Pins come from a `kt trust --save` file or pasted JSON (checked strictly by
 * verifier/client/pins.ts), or, only when the person asks, from the server's `/v1/config` (trust on first
 * use, recorded as such). On every start the server's `/v1/config` is compared with the kept pins: a
 * different origin, log key or VRF key is an alarm (the directory now signs with keys the person never
 * trusted, or answers for another log); a different witness list or quorum is a notice (the pins' witness
 * policy is the person's own, the server's is only advice).
 */
import { checkPins, checkServerUrl, PinsError, type PinsJson } from '../../verifier/client/pins.js';
import type { WebStorage } from '../../verifier/client/checkpoint-store.js';

/** The pins as kept, with where they came from. */
export interface KeptPins {
  pins: PinsJson & { witnesses: string[]; witnessQuorum: number };
  source: 'file' | 'pasted' | 'server';
  /** When they were kept (ms). */
  at: number;
  /** The directory URL the person set; default: the page's own origin (or the pins' server, for a file). */
  server?: string;
}

/** What differs between the kept pins and the server's `/v1/config`. */
export interface PinsDifference {
  field: 'origin' | 'logKey' | 'vrfKey' | 'witnesses' | 'witnessQuorum';
  severity: 'alarm' | 'notice';
  pinned: string;
  served: string;
}

const PINS_KEY = 'kt-explorer/pins';

/** The pins kept in `storage`, or undefined; kept pins that no longer parse are an error, not ignored. */
export function loadPins(storage: WebStorage): KeptPins | undefined {
  const text = storage.getItem(PINS_KEY);
  if (text === null) return undefined;
  const where = 'the pins kept in this browser';
  let kept: KeptPins;
  try {
    kept = JSON.parse(text) as KeptPins;
  } catch {
    throw new PinsError('bad_pins', `${where}: not JSON`);
  }
  if (typeof kept !== 'object' || kept === null || !['file', 'pasted', 'server'].includes(kept.source))
    throw new PinsError('bad_pins', `${where}: no source`);
  if (!Number.isFinite(kept.at)) throw new PinsError('bad_pins', `${where}: no time`);
  const server = kept.server === undefined ? undefined : checkServerUrl(kept.server, `${where}: the directory URL`);
  return { pins: checkPins(kept.pins, where), source: kept.source, at: kept.at, ...(server ? { server } : {}) };
}

export function savePins(storage: WebStorage, kept: KeptPins): void {
  storage.setItem(PINS_KEY, JSON.stringify(kept));
}

export function forgetPins(storage: { removeItem(key: string): void }): void {
  storage.removeItem(PINS_KEY);
}

/** Pins from the text of a `kt-pins.json` file or pasted JSON; throws PinsError `bad_pins` with the reason. */
export function pinsFromText(text: string, where: string): KeptPins['pins'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return checkPins(undefined, `${where} (not JSON)`);
  }
  return checkPins(parsed, where);
}

/** Pins from a server's `/v1/config`, for trust on first use: only the pin fields, the server's advice on witnesses. */
export function pinsFromConfig(config: Record<string, unknown>, server: string): KeptPins['pins'] {
  return checkPins(
    {
      server,
      origin: config.origin,
      logKey: config.logKey,
      vrfKey: config.vrfKey,
      witnesses: config.witnesses ?? [],
      witnessQuorum: config.witnessQuorum ?? 0,
    },
    `${server}/v1/config`,
  );
}

const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

/** The differences between the kept pins and a `/v1/config` answer (see the file comment). */
export function comparePins(pins: PinsJson, config: Record<string, unknown>): PinsDifference[] {
  const out: PinsDifference[] = [];
  for (const field of ['origin', 'logKey', 'vrfKey'] as const)
    if (config[field] !== pins[field])
      out.push({ field, severity: 'alarm', pinned: pins[field], served: show(config[field]) });
  const pinned = [...(pins.witnesses ?? [])].sort();
  const served = Array.isArray(config.witnesses) ? [...(config.witnesses as string[])].sort() : [];
  if (JSON.stringify(pinned) !== JSON.stringify(served))
    out.push({ field: 'witnesses', severity: 'notice', pinned: show(pinned), served: show(served) });
  if ((pins.witnessQuorum ?? 0) !== (config.witnessQuorum ?? 0))
    out.push({
      field: 'witnessQuorum',
      severity: 'notice',
      pinned: String(pins.witnessQuorum ?? 0),
      served: show(config.witnessQuorum ?? 0),
    });
  return out;
}

/**
 * The directory's URL: the one the person set, else the page's own origin when that origin serves a
 * directory (the directory serving its own explorer), else the pins' `server` (a local file, or a copy of
 * the page on another origin).
 */
export function directoryUrl(kept: KeptPins | undefined, ownOrigin: string | undefined): string | undefined {
  return kept?.server ?? ownOrigin ?? kept?.pins.server;
}
