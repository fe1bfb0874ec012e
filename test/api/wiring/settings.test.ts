/**
 * The one settings definition (api/wiring/settings.ts): config.json on Node and the Worker's vars give the
 * same settings for the same values and refuse the same bad ones, and README's "Settings" table shows
 * every setting with its names and default as the definition has them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import {
  ConfigError,
  DEFAULT_SETTINGS,
  parseOperatorToken,
  parseVrfSecretKey,
  SETTINGS,
  settingFromVars,
  settingsFromConfig,
  settingsFromVars,
  type SettingVars,
} from '../../../api/wiring/settings.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const WITNESS = cosigner('witness.example/w1', new Uint8Array(32).fill(1)).verifierKey;

/** The same values as config.json holds them and as Worker vars (text). */
function both(values: Record<string, unknown>): [Record<string, unknown>, SettingVars] {
  const json: Record<string, unknown> = {};
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    const s = SETTINGS[name as keyof typeof SETTINGS];
    json[s.json] = value;
    vars[s.variable] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return [json, vars];
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return 'accepted';
}

describe('settings', () => {
  it('default when unset, on both servers', () => {
    expect(settingsFromConfig({}, 'config.json')).toEqual(DEFAULT_SETTINGS);
    expect(settingsFromVars({})).toEqual(DEFAULT_SETTINGS);
    expect(settingsFromVars({ EPOCH_INTERVAL_MS: '', WITNESSES: ' \n' })).toEqual(DEFAULT_SETTINGS);
    // In config.json a setting is unset only when its key is missing.
    expect(refusal(() => settingsFromConfig({ epochIntervalMs: '' }, 'config.json'))).toMatch(/must be an integer/);
    expect(refusal(() => settingsFromConfig({ witnesses: '' }, 'config.json'))).toMatch(/must be a list/);
    expect(DEFAULT_SETTINGS).toEqual({
      epochIntervalMs: 1000,
      heartbeatMs: 60_000,
      receiptDeadlineMs: 300_000,
      mapCacheRows: 30_000,
      lookupBurst: 60,
      lookupRatePerSecond: 10,
      absentLookupCost: 6,
      ipv6PrefixLength: 64,
      publishBurst: 500,
      publishRatePerSecond: 100,
      providerPublishBurst: 1000,
      providerPublishRatePerSecond: 200,
      witnesses: [],
      witnessQuorum: 0,
      lookupOrigins: [],
      accessLog: false,
      keytrans: true,
    });
  });

  it('read the same values the same way from config.json and from Worker vars', () => {
    const values = {
      epochIntervalMs: 250,
      heartbeatMs: 5000,
      receiptDeadlineMs: 20_000,
      mapCacheRows: 64,
      lookupBurst: 1,
      lookupRatePerSecond: 3,
      absentLookupCost: 1,
      ipv6PrefixLength: 48,
      publishBurst: 7,
      publishRatePerSecond: 2,
      providerPublishBurst: 9,
      providerPublishRatePerSecond: 4,
      witnesses: [{ key: WITNESS, url: 'https://w.example/w1' }],
      witnessQuorum: 1,
      lookupOrigins: ['https://web.chat.example', 'http://localhost:5173', 'https://[::1]:8443'],
      accessLog: true,
      keytrans: false,
    };
    const [json, vars] = both(values);
    expect(settingsFromConfig(json, 'config.json')).toEqual(values);
    expect(settingsFromVars(vars)).toEqual(values);
    for (const lookupOrigins of [['*'], []]) {
      const [anyJson, anyVars] = both({ lookupOrigins });
      expect(settingsFromConfig(anyJson, 'config.json').lookupOrigins).toEqual(lookupOrigins);
      expect(settingsFromVars(anyVars).lookupOrigins).toEqual(lookupOrigins);
    }
    // The Worker's isolate reads one setting as settingsFromVars does.
    expect(settingFromVars('lookupOrigins', vars)).toEqual(values.lookupOrigins);
    expect(settingFromVars('lookupOrigins', { LOOKUP_ORIGINS: ' ' })).toEqual([]);
    expect(refusal(() => settingFromVars('lookupOrigins', { LOOKUP_ORIGINS: '"*"' }))).toBe(
      'LOOKUP_ORIGINS must be a list of origins',
    );
    expect(settingsFromVars({ EPOCH_INTERVAL_MS: 250, HEARTBEAT_MS: ' 5000 ' })).toMatchObject({
      epochIntervalMs: 250,
      heartbeatMs: 5000,
    });
  });

  it('refuse the same bad values on both servers, naming the setting and not the value', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ epochIntervalMs: 9 }, /must be an integer >= 10/],
      [{ heartbeatMs: 1.5 }, /must be an integer >= 10/],
      [{ receiptDeadlineMs: 9999 }, /must be an integer >= 10000/],
      [{ mapCacheRows: 0 }, /must be an integer >= 1/],
      [{ epochIntervalMs: 200_000, receiptDeadlineMs: 300_000 }, /is below two epoch intervals plus 10 s/],
      [{ epochIntervalMs: 5000, receiptDeadlineMs: 19_999 }, /is below two epoch intervals plus 10 s/],
      [{ lookupBurst: 0 }, /must be an integer >= 1/],
      [{ lookupRatePerSecond: -1 }, /must be an integer >= 1/],
      [{ absentLookupCost: 0 }, /must be an integer from 1 to 1000/],
      [{ absentLookupCost: 1001 }, /must be an integer from 1 to 1000/],
      [{ ipv6PrefixLength: 0 }, /must be an integer from 1 to 128/],
      [{ ipv6PrefixLength: 129 }, /must be an integer from 1 to 128/],
      [{ ipv6PrefixLength: 6.5 }, /must be an integer from 1 to 128/],
      [{ publishBurst: 0 }, /must be an integer >= 1/],
      [{ providerPublishRatePerSecond: 0.5 }, /must be an integer >= 1/],
      [{ witnessQuorum: -1 }, /must be an integer >= 0/],
      [{ witnesses: {} }, /must be a list of \{"key", "url"\}/],
      [{ witnesses: [{ key: WITNESS }] }, /item 0 must be \{"key", "url"\}/],
      [{ witnesses: [{ key: 'secret-ish', url: 'https://w.example' }] }, /item 0: the key is not a cosigner key/],
      [
        { witnesses: [{ key: WITNESS, url: 'https://w.example/' }] },
        /item 0: the URL must be http\(s\), without a trailing slash/,
      ],
      [
        { witnesses: [{ key: WITNESS, url: 'https://w.example' }], witnessQuorum: 2 },
        /is above the number of witnesses \(1\)/,
      ],
      [{ lookupOrigins: 'https://web.chat.example' }, /must be a (JSON )?list of origins/],
      [{ lookupOrigins: ['*', 'https://web.chat.example'] }, /must be \["\*"\] alone, or a list of origins/],
      ...[
        'https://web.chat.example/',
        'https://web.chat.example/app',
        'https://Web.Chat.example',
        'https://web.chat.example:443',
        'http://web.chat.example:80',
        'https://user@web.chat.example',
        'https://web.chat.example?q',
        'web.chat.example',
        'ftp://web.chat.example',
        'null',
        '',
        'https://bücher.example',
      ].map((o): [Record<string, unknown>, RegExp] => [
        { lookupOrigins: ['https://ok.example', o] },
        /item 1 must be an origin as browsers send it/,
      ]),
      [{ lookupOrigins: [42] }, /item 0 must be an origin/],
    ];
    for (const [values, message] of bad) {
      const [json, vars] = both(values);
      const name = Object.keys(values).pop() as keyof typeof SETTINGS;
      expect(
        refusal(() => settingsFromConfig(json, 'config.json')),
        JSON.stringify(values),
      ).toMatch(message);
      expect(refusal(() => settingsFromConfig(json, 'config.json'))).toContain(`config.json: "${SETTINGS[name].json}"`);
      expect(
        refusal(() => settingsFromVars(vars)),
        JSON.stringify(values),
      ).toMatch(message);
      expect(refusal(() => settingsFromVars(vars))).toContain(SETTINGS[name].variable);
      expect(refusal(() => settingsFromVars(vars))).not.toContain('secret-ish');
    }
    // Text a config.json cannot hold as a number, and a Worker var that is not a number.
    expect(refusal(() => settingsFromConfig({ heartbeatMs: '5000' }, 'config.json'))).toMatch(/must be an integer/);
    expect(refusal(() => settingsFromVars({ HEARTBEAT_MS: '1e5' }))).toMatch(/HEARTBEAT_MS must be an integer >= 10/);
    expect(refusal(() => settingsFromVars({ WITNESSES: '[{"key": 1' }))).toMatch(/WITNESSES must be a JSON list/);
  });

  it('check the VRF key and the operator token without echoing them', () => {
    expect(parseVrfSecretKey(`${'ab'.repeat(32)}\n`, 'vrf.key')).toHaveLength(32);
    expect(refusal(() => parseVrfSecretKey(undefined, 'VRF_SECRET_KEY'))).toBe('VRF_SECRET_KEY is not set');
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 'zz'.repeat(32)]) {
      const message = refusal(() => parseVrfSecretKey(bad, 'vrf.key'));
      expect(message).toBe('vrf.key must be 64 lower-case hex digits');
    }
    expect(parseOperatorToken(' a-long-enough-token\n', 'OPERATOR_TOKEN')).toBe('a-long-enough-token');
    for (const bad of ['short-secret', 'has a space in the middle']) {
      const message = refusal(() => parseOperatorToken(bad, 'operator.token'));
      expect(message).toBe('operator.token must be 16 or more characters without whitespace');
    }
  });

  it('read the access log flag as true or false on both servers, and refuse anything else', () => {
    for (const value of [true, false]) {
      const [json, vars] = both({ accessLog: value });
      expect(settingsFromConfig(json, 'config.json').accessLog).toBe(value);
      expect(settingsFromVars(vars).accessLog).toBe(value);
    }
    for (const bad of ['true', 1, 'yes', null])
      expect(refusal(() => settingsFromConfig({ accessLog: bad }, 'config.json'))).toMatch(/accessLog.*true or false/);
    for (const bad of ['1', 'TRUE', 'on'])
      expect(refusal(() => settingsFromVars({ ACCESS_LOG: bad }))).toMatch(/ACCESS_LOG.*true or false/);
  });

  it("are the rows of README's Settings table, with their names and defaults", () => {
    const table = README.slice(README.indexOf('### Settings'));
    for (const s of Object.values(SETTINGS)) {
      const row = table.split('\n').find((line) => line.includes(`| \`${s.json}\` | \`${s.variable}\` |`));
      expect(row, s.json).toBeDefined();
      expect(row, s.json).toContain(`| \`${JSON.stringify(s.fallback)}\` |`);
    }
  });
});
