/**
 * The server's settings, defined once for both deployments: each has a name in the Node server's
 * `config.json`, a Worker var, a default and bounds, and is read (`settingsFromConfig`,
 * `settingsFromVars`) and checked here, so that both servers accept and refuse exactly the same values.
 * README's "Settings" table documents them (a test holds it to this file). The keys and secrets (log key,
 * VRF key, operator token, trusted roots) come from files on Node and from Worker secrets; their formats
 * are checked here too. Every problem is a `ConfigError` naming the setting and where it came from, never
 * its value.
 */
import { fromHex } from '../../wasm-free-crypto/bytes.js';
import { parseCosignerKey } from '../../wasm-free-crypto/cosignature.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { WitnessEndpoint } from '../../log/merkle/witnessing.js';

/** A setting or secret is missing or malformed (its message names it, never its value). */
export class ConfigError extends CodedError<'bad_config'> {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super('bad_config', message);
  }
}

/** One tunable setting: its names on both deployments, its default, and how a value is read and checked. */
interface SettingDefinition<T, Variable extends string = string> {
  /** Its key in the Node server's config.json. */
  json: string;
  /** Its Worker var. */
  variable: Variable;
  fallback: T;
  /** What it sets, for the README's table. */
  meaning: string;
  /** The value, checked; throws an Error saying what a valid value is. */
  read(value: unknown, from: 'json' | 'variable'): T;
}

/** A setting, its Worker var's name kept as a literal type (for the Worker's typed vars). */
function setting<T, Variable extends string>(d: SettingDefinition<T, Variable>): SettingDefinition<T, Variable> {
  return d;
}

/** An integer >= `min`: a JSON number in config.json, decimal digits in a Worker var (trimmed by the caller). */
function integer(min: number): (value: unknown, from: 'json' | 'variable') => number {
  return (value, from) => {
    const n = from === 'json' ? value : /^[0-9]{1,15}$/.test(String(value)) ? Number(value) : NaN;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) throw new Error(`must be an integer >= ${min}`);
    return n;
  };
}

/** An integer from `min` to `max`, read as `integer` reads it. */
function integerIn(min: number, max: number): (value: unknown, from: 'json' | 'variable') => number {
  const atLeast = integer(min);
  return (value, from) => {
    let n = NaN;
    try {
      n = atLeast(value, from);
    } catch {}
    if (!(n <= max)) throw new Error(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** A flag: true or false in config.json, `true` or `false` in a Worker var. */
function flag(value: unknown, from: 'json' | 'variable'): boolean {
  const b = from === 'json' ? value : value === 'true' ? true : value === 'false' ? false : undefined;
  if (typeof b !== 'boolean') throw new Error('must be true or false');
  return b;
}

/** A list: JSON in config.json, JSON text in a Worker var (`items` says what its items are, for errors). */
function listOf(value: unknown, from: 'json' | 'variable', items: string): unknown[] {
  let list = value;
  if (from === 'variable') {
    try {
      list = JSON.parse(String(value));
    } catch {
      throw new Error(`must be a JSON list of ${items}`);
    }
  }
  if (!Array.isArray(list)) throw new Error(`must be a list of ${items}`);
  return list;
}

/**
 * A list of witnesses: {"key": cosigner key string, "url": http(s) submission prefix without a trailing
 * slash}, as JSON in config.json, as JSON text in the Worker var.
 */
function witnessList(value: unknown, from: 'json' | 'variable'): WitnessEndpoint[] {
  return (listOf(value, from, '{"key", "url"}') as Record<string, unknown>[]).map((w: Record<string, unknown>, i) => {
    const keys = typeof w === 'object' && w !== null ? Object.keys(w).sort().join() : '';
    if (keys !== 'key,url' || typeof w.key !== 'string' || typeof w.url !== 'string') {
      throw new Error(`item ${i} must be {"key", "url"}`);
    }
    try {
      parseCosignerKey(w.key);
    } catch (e) {
      throw new Error(`item ${i}: the key is not a cosigner key (${(e as Error).message})`);
    }
    if (!/^https?:\/\/\S+[^/\s]$/.test(w.url))
      throw new Error(`item ${i}: the URL must be http(s), without a trailing slash`);
    return { key: w.key, url: w.url };
  });
}

/** Whether `text` is an origin exactly as a browser sends it: http(s), lower case, no default port, no path. */
function isBrowserOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

/**
 * The origins the lookup routes answer in browsers (api/app/cors.ts): exact origins, compared with the
 * request's Origin as they are, or `*` alone for any.
 */
function originList(value: unknown, from: 'json' | 'variable'): string[] {
  const list = listOf(value, from, 'origins');
  if (list.includes('*') && list.length > 1) throw new Error('must be ["*"] alone, or a list of origins');
  list.forEach((o, i) => {
    if (o !== '*' && (typeof o !== 'string' || !isBrowserOrigin(o)))
      throw new Error(
        `item ${i} must be an origin as browsers send it: http(s)://host[:port] in lower case, without a default port, path or trailing slash`,
      );
  });
  return list as string[];
}

/** The tunable settings of both servers. */
export const SETTINGS = {
  epochIntervalMs: setting({
    json: 'epochIntervalMs',
    variable: 'EPOCH_INTERVAL_MS',
    fallback: 1000,
    meaning: 'how long after queued work an epoch closes, in ms',
    read: integer(10),
  }),
  heartbeatMs: setting({
    json: 'heartbeatMs',
    variable: 'HEARTBEAT_MS',
    fallback: 60_000,
    meaning: 'an idle directory still closes an empty epoch this often, in ms',
    read: integer(10),
  }),
  receiptDeadlineMs: setting({
    json: 'receiptDeadlineMs',
    variable: 'RECEIPT_DEADLINE_MS',
    fallback: 300_000,
    meaning:
      'how long after a 202 its receipt promises the statement commits, in ms (at least two epoch intervals plus 10 s)',
    read: integer(10_000),
  }),
  mapCacheRows: setting({
    json: 'mapCacheRows',
    variable: 'MAP_CACHE_ROWS',
    fallback: 30_000,
    meaning:
      "rows of the stored map the sequencer keeps in memory, and each reader process its own (about 0.5 KB each, 1.5 KB for the decoded top 12 levels; the tree's upper levels stay cached)",
    read: integer(1),
  }),
  lookupBurst: setting({
    json: 'lookupBurst',
    variable: 'LOOKUP_BURST',
    fallback: 60,
    meaning: 'lookups a client may make at once (per-client rate limit)',
    read: integer(1),
  }),
  lookupRatePerSecond: setting({
    json: 'lookupRatePerSecond',
    variable: 'LOOKUP_RATE_PER_SECOND',
    fallback: 10,
    meaning: 'lookups per second a client may make after its burst',
    read: integer(1),
  }),
  absentLookupCost: setting({
    json: 'absentLookupCost',
    variable: 'ABSENT_LOOKUP_COST',
    fallback: 6,
    meaning: 'what a lookup of a name the directory does not know (a VRF proof) costs, in lookups',
    read: integerIn(1, 1000),
  }),
  ipv6PrefixLength: setting({
    json: 'ipv6PrefixLength',
    variable: 'IPV6_PREFIX_LENGTH',
    fallback: 64,
    meaning: 'IPv6 clients share the rate limits of their address prefix of this many bits',
    read: integerIn(1, 128),
  }),
  publishBurst: setting({
    json: 'publishBurst',
    variable: 'PUBLISH_BURST',
    fallback: 500,
    meaning: 'statements a client address may publish at once (checked before any signature)',
    read: integer(1),
  }),
  publishRatePerSecond: setting({
    json: 'publishRatePerSecond',
    variable: 'PUBLISH_RATE_PER_SECOND',
    fallback: 100,
    meaning: 'statements per second a client address may publish after its burst',
    read: integer(1),
  }),
  providerPublishBurst: setting({
    json: 'providerPublishBurst',
    variable: 'PROVIDER_PUBLISH_BURST',
    fallback: 1000,
    meaning: 'statements naming one provider that may be published at once, from any address',
    read: integer(1),
  }),
  providerPublishRatePerSecond: setting({
    json: 'providerPublishRatePerSecond',
    variable: 'PROVIDER_PUBLISH_RATE_PER_SECOND',
    fallback: 200,
    meaning: 'statements per second naming one provider that may be published after its burst',
    read: integer(1),
  }),
  witnesses: setting({
    json: 'witnesses',
    variable: 'WITNESSES',
    fallback: [] as WitnessEndpoint[],
    meaning: 'the witnesses each checkpoint is sent to before it is served, a list of {"key", "url"}',
    read: witnessList,
  }),
  witnessQuorum: setting({
    json: 'witnessQuorum',
    variable: 'WITNESS_QUORUM',
    fallback: 0,
    meaning: 'how many witness cosignatures /v1/config advises clients to require (at most the witnesses)',
    read: integer(0),
  }),
  lookupOrigins: setting({
    json: 'lookupOrigins',
    variable: 'LOOKUP_ORIGINS',
    fallback: [] as string[],
    meaning: 'the web origins allowed to read the lookup, history and daily-check routes from a browser, or ["*"]',
    read: originList,
  }),
  accessLog: setting({
    json: 'accessLog',
    variable: 'ACCESS_LOG',
    fallback: false,
    meaning: 'log one JSON line per request: its id, method, route pattern, status and time (README "Operations")',
    read: flag,
  }),
  keytrans: setting({
    json: 'keytrans',
    variable: 'KEYTRANS',
    fallback: true,
    meaning:
      "run each provider's IETF KEYTRANS deployment (docs/PROTOCOL.md section 22); on the Worker with either OBJECT_STORAGE (section 22.8)",
    read: flag,
  }),
};

export type SettingName = keyof typeof SETTINGS;
export type Settings = { [K in SettingName]: (typeof SETTINGS)[K]['fallback'] };
/** The Worker vars of the settings, by name. */
export type SettingVars = { [K in SettingName as (typeof SETTINGS)[K]['variable']]?: string | number };

/** Every setting at its default. */
export const DEFAULT_SETTINGS: Settings = Object.fromEntries(
  Object.entries(SETTINGS).map(([name, s]) => [name, s.fallback]),
) as Settings;

/** One setting's value `raw` (an unset one takes its default), checked; a ConfigError names it by `describe`. */
function readSetting(
  s: SettingDefinition<unknown>,
  raw: unknown,
  from: 'json' | 'variable',
  describe: (s: SettingDefinition<unknown>) => string,
): unknown {
  // A var set to nothing (or white space) is unset; in config.json only a missing key is.
  const value = from === 'variable' && typeof raw === 'string' ? raw.trim() : raw;
  try {
    return value === undefined || (from === 'variable' && value === '') ? s.fallback : s.read(value, from);
  } catch (e) {
    throw new ConfigError(`${describe(s)} ${(e as Error).message}`);
  }
}

/** Reads every setting through `valueOf` (an unset one takes its default), then checks them together. */
function readSettings(
  valueOf: (s: SettingDefinition<unknown>) => unknown,
  from: 'json' | 'variable',
  describe: (s: SettingDefinition<unknown>) => string,
): Settings {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, SettingDefinition<unknown>][]) {
    out[name] = readSetting(s, valueOf(s), from, describe);
  }
  const settings = out as Settings;
  if (settings.witnessQuorum > settings.witnesses.length) {
    const quorum = describe(SETTINGS.witnessQuorum);
    throw new ConfigError(`${quorum} is above the number of witnesses (${settings.witnesses.length})`);
  }
  // A receipted statement waits at most one interval for its epoch, one more if that epoch is deferred or
  // fails, plus the commit and the witnesses' cosigning (3 s each at most): the deadline must leave room.
  if (settings.receiptDeadlineMs < 2 * settings.epochIntervalMs + 10_000) {
    const deadline = describe(SETTINGS.receiptDeadlineMs);
    throw new ConfigError(`${deadline} is below two epoch intervals plus 10 s`);
  }
  return settings;
}

/** The settings of a parsed config.json (`file` names it in errors); other keys are the caller's. */
export function settingsFromConfig(config: Record<string, unknown>, file: string): Settings {
  return readSettings(
    (s) => config[s.json],
    'json',
    (s) => `${file}: "${s.json}"`,
  );
}

/** The settings of the Worker's vars (strings, or numbers when wrangler.toml gives them unquoted). */
export function settingsFromVars(vars: SettingVars): Settings {
  return readSettings(
    (s) => (vars as Record<string, unknown>)[s.variable],
    'variable',
    (s) => s.variable,
  );
}

/**
 * One setting of the Worker's vars, read as `settingsFromVars` reads it: for the Worker's isolate, which
 * answers some requests without the Durable Object (api/worker/worker.ts).
 */
export function settingFromVars<K extends SettingName>(name: K, vars: SettingVars): Settings[K] {
  const s = SETTINGS[name] as SettingDefinition<unknown>;
  return readSetting(s, (vars as Record<string, unknown>)[s.variable], 'variable', () => s.variable) as Settings[K];
}

/** The names config.json may hold besides the tunable settings (the Node server reads them itself). */
export const NODE_ONLY_SETTINGS = ['origin', 'devMode', 'trustedRoots'] as const;

/** The VRF secret key: 64 lower-case hex digits (`where` names the file or secret). */
export function parseVrfSecretKey(hex: string | undefined, where: string): Uint8Array {
  const text = hex?.trim();
  if (!text) throw new ConfigError(`${where} is not set`);
  if (!/^[0-9a-f]{64}$/.test(text)) throw new ConfigError(`${where} must be 64 lower-case hex digits`);
  return fromHex(text);
}

/** The operator's bearer token: 16 or more characters without white space (`where` names its source). */
export function parseOperatorToken(token: string | undefined, where: string): string {
  const text = token?.trim();
  if (!text) throw new ConfigError(`${where} is not set`);
  if (!/^\S{16,}$/.test(text)) throw new ConfigError(`${where} must be 16 or more characters without whitespace`);
  return text;
}
