/**
 * The options each subcommand of `kt identity`, `kt provider`, `kt witness` and `kt keytrans` takes
 * (cli/subcommand-options.ts): an option that only another subcommand reads is refused with exit 2 and a message
 * naming it, before anything is written or fetched, while the subcommand's own options still work; `kt trust`
 * refuses the client options it does not read. The helper itself is tested first, on parseArgs's tokens.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/output.js';
import { checkSubcommandOptions } from '../../cli/subcommand-options.js';
import { kt } from '../helpers/kt-process.js';

const root = mkdtempSync(join(tmpdir(), 'kt-subcommand-options-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A new empty folder for one command's checks. */
const fresh = () => mkdtempSync(join(root, 'run-'));

/** The tokens of `args` as the commands parse them: only what is on the command line, not the defaults. */
function tokensOf(args: string[]) {
  const options = {
    out: { type: 'string', default: 'identity.json' },
    key: { type: 'string', default: 'identity.json' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const;
  return parseArgs({ args, options, tokens: true }).tokens;
}

/** The error `checkSubcommandOptions` throws for `args`, or undefined. */
function refusal(args: string[], takes: string[]): unknown {
  try {
    checkSubcommandOptions('identity', 'new', tokensOf(args), takes);
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('checkSubcommandOptions', () => {
  it('lets through the options taken, --help and -h, and counts no default as given', () => {
    for (const args of [[], ['--out', 'a.json'], ['--out=a.json', '--json'], ['-h'], ['--help', '--json']])
      expect(refusal(args, ['out', 'json']), args.join(' ')).toBeUndefined();
    expect(refusal([], [])).toBeUndefined();
  });

  it('refuses an option not taken with a UsageError naming the command, the subcommand and the options', () => {
    const e = refusal(['--out', 'a.json', '--key', 'k.json'], ['out', 'json']);
    expect(e).toBeInstanceOf(UsageError);
    expect(e).toMatchObject({
      code: 'usage',
      message: 'kt identity new does not take --key (it takes --out, --json)',
    });
    expect((refusal(['--key=k', '--json', '--key', 'j'], ['out']) as Error).message).toBe(
      'kt identity new does not take --key, --json (it takes --out)',
    );
    expect((refusal(['--json'], []) as Error).message).toBe(
      'kt identity new does not take --json (it takes no options)',
    );
  });

  it('refuses two options kept apart when both are given, in either order, and either alone not', () => {
    const apart = [['out', 'key', 'one file only']] as const;
    const check = (args: string[]) => () =>
      checkSubcommandOptions('identity', 'new', tokensOf(args), ['out', 'key', 'json'], apart);
    for (const args of [['--out', 'a'], ['--key', 'k', '--json'], [], ['--json']]) expect(check(args)).not.toThrow();
    for (const args of [
      ['--out', 'a', '--key', 'k'],
      ['--key=k', '--json', '--out=a'],
    ])
      expect(check(args), args.join(' ')).toThrow(
        new UsageError('kt identity new does not take --out with --key: one file only'),
      );
    // an option not taken is named first: that is the mistake to mend before the pair
    expect(() =>
      checkSubcommandOptions('identity', 'new', tokensOf(['--out', 'a', '--key', 'k']), ['out'], apart),
    ).toThrow('does not take --key (it takes --out)');
  });
});

/** Runs each case's `kt ARGS` in `dir`: each refused (exit 2) naming its option, and nothing written. */
async function expectRefused(dir: string, cases: [string[], string][]): Promise<void> {
  const results = await Promise.all(cases.map(([args]) => kt(args, dir)));
  for (const [i, r] of results.entries()) {
    const [args, option] = cases[i];
    const sub = `kt ${args.slice(0, 2).join(' ')}`;
    expect([r.code, r.stderr], args.join(' ')).toEqual([
      2,
      expect.stringContaining(`${sub} does not take ${option} (`),
    ]);
    expect(r.stdout, args.join(' ')).toBe('');
  }
  expect(readdirSync(dir)).toEqual([]); // nothing written
}

describe('kt COMMAND SUBCOMMAND refuses the options of other subcommands', () => {
  it('kt identity: new does not take --key, show does not take --out; their own options work', async () => {
    const dir = fresh();
    await expectRefused(dir, [
      [['identity', 'new', '--key', 'k.json'], '--key'],
      [['identity', 'show', '--out', 'a.json'], '--out'],
    ]);
    const json = await kt(['identity', 'new', '--key', 'k.json', '--json'], dir);
    expect([json.code, JSON.parse(json.stdout).error]).toEqual([
      2,
      { code: 'usage', message: 'kt identity new does not take --key (it takes --out, --json)' },
    ]);
    const made = await kt(['identity', 'new', '--out', 'a.json', '--json'], dir);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['a.json']);
    const shown = await kt(['identity', 'show', '--key', 'a.json'], dir);
    expect([shown.code, shown.stdout.trim()]).toEqual([0, JSON.parse(made.stdout).publicKey]);
  });

  it('kt provider: each subcommand refuses another one’s option; keygen’s own work', async () => {
    const dir = fresh();
    await expectRefused(dir, [
      [['provider', 'keygen', '--id', 'mail.example', '--server', 'http://127.0.0.1:9'], '--server'],
      [['provider', 'certify', '--csr', 'x.csr', '--data', 'data', '--id', 'mail.example'], '--id'],
      [['provider', 'enrol', '--chain', 'c.pem', '--server', 'http://127.0.0.1:9', '--dir', '.'], '--dir'],
      [['provider', 'publish', '--id', 'mail.example', '--csr', 'x.csr', '--delete'], '--csr'],
    ]);
    // options a subcommand takes, but not together: refused before any file is read or server asked
    for (const [args, pair] of [
      [
        ['provider', 'enrol', '--chain', 'c.pem', '--server', 'http://127.0.0.1:9', '--data', 'd', '--token', 't'],
        '--token with --data',
      ],
      [
        [
          'provider',
          'publish',
          '--id',
          'mail.example',
          '--delete',
          '--protocol',
          'x/1',
          '--server',
          'http://127.0.0.1:9',
        ],
        '--protocol with --delete',
      ],
    ]) {
      const r = await kt(args as string[], dir);
      expect([r.code, r.stderr, r.stdout], pair as string).toEqual([
        2,
        expect.stringContaining(`does not take ${pair}: `),
        '',
      ]);
    }
    const made = await kt(['provider', 'keygen', '--id', 'mail.example', '--dir', '.', '--json'], dir);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['mail.example.csr', 'mail.example.key']);
    // certify's own options get past the check, to its own error: no development CA in data
    const certify = await kt(
      ['provider', 'certify', '--csr', 'mail.example.csr', '--data', 'data', '--days', '2'],
      dir,
    );
    expect([certify.code, certify.stderr]).toEqual([2, expect.stringContaining('dev-ca.pem')]);
  });

  it('kt witness: each subcommand refuses another one’s option; init’s and serve’s own get through', async () => {
    const dir = fresh();
    await expectRefused(dir, [
      [['witness', 'init', '--name', 'witness.example/w1', '--log', 'a=b'], '--log'],
      [['witness', 'cosigner-key', '--convention', 'sigsum', '--public-key', 'k', '--key', 'w.key'], '--key'],
      [['witness', 'serve', '--log', 'a=b', '--name', 'witness.example/w1', '--port', '0'], '--name'],
    ]);
    const [init, serve] = await Promise.all([
      kt(['witness', 'init', '--name', 'witness.example/w1', '--key', 'w.key', '--json'], dir),
      // serve's own options pass the check and it stops at its own error (no --log), before listening
      kt(['witness', 'serve', '--key', 'w.key', '--state', 's.json', '--port', '0', '--host', '127.0.0.1'], dir),
    ]);
    expect(init.code, init.stderr).toBe(0);
    expect(existsSync(join(dir, 'w.key'))).toBe(true);
    expect([serve.code, serve.stderr]).toEqual([2, expect.stringContaining('give at least one --log')]);
    // --roots and --audit-dir serve an audit: without --audit they would do nothing.
    for (const flag of ['--roots', '--audit-dir']) {
      const r = await kt(['witness', 'serve', '--log', 'a=b', flag, dir, '--port', '0'], dir);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`${flag} goes with --audit`)]);
    }
  });

  it('kt keytrans: search does not take --made, owner does not take --version; their own get through', async () => {
    const dir = fresh();
    const account = ['--provider', 'chat.example', '--account', 'a@b.example'];
    await expectRefused(dir, [
      [['keytrans', 'search', ...account, '--made', '1'], '--made'],
      [['keytrans', 'owner', ...account, '--version', '1'], '--version'],
    ]);
    const own = ['--server', 'http://127.0.0.1:9', '--pins', 'none.json', '--state', 's.json', '--json'];
    const results = await Promise.all([
      kt(
        ['keytrans', 'search', '--provider', 'Chat.Example', '--account', 'a@b.example', '--version', '1', ...own],
        dir,
      ),
      kt(['keytrans', 'owner', '--provider', 'Chat.Example', '--account', 'a@b.example', '--made', '1', ...own], dir),
    ]);
    // past the check, each stops at the malformed provider id, before any file is read or request made
    for (const r of results) expect([r.code, JSON.parse(r.stdout).error.code]).toEqual([2, 'bad_provider']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('kt trust refuses --state and --evidence-dir, and --pins with --server', async () => {
    const dir = fresh();
    const [state, evidence, pins] = await Promise.all([
      kt(['trust', '--state', 's.json'], dir),
      kt(['trust', '--evidence-dir', '.'], dir),
      kt(['trust', '--server', 'http://127.0.0.1:9', '--pins', 'p.json'], dir),
    ]);
    expect([state.code, state.stderr]).toEqual([2, expect.stringContaining("Unknown option '--state'")]);
    expect([evidence.code, evidence.stderr]).toEqual([2, expect.stringContaining("Unknown option '--evidence-dir'")]);
    expect([pins.code, pins.stderr]).toEqual([2, expect.stringContaining('--pins is read without --server only')]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
