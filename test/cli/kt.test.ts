/**
 * The `kt` command against a real server started here (api/node/main.ts via test/helpers/server-process.ts) and filled
 * by the demo: init, trust, lookup and history verified with the saved pins (exit 0, also for a provider that is not
 * enrolled, said so distinctly; a malformed provider or account is a usage error, exit 2), a wrong pin and a
 * rolled-back directory caught (exit 1, with an evidence file for the rollback), usage and network errors
 * (exit 2), `--json` output, and a witness initialised and served by `kt witness` cosigning the server's
 * checkpoint.
 */
import { SqliteAuditStore } from '../../cli/audit-store.js';
import { execFile, type spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { parseCosignerKey } from '../../wasm-free-crypto/cosignature.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { openCheckpoint, signCheckpoint } from '../../verifier/formats/checkpoint.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { nodeEntry } from '../helpers/node-entry.js';
import { kt, spawnKt } from '../helpers/kt-process.js';

const DEMO = nodeEntry('api/node/demo.ts');

/** Spawns `kt ARGS` and resolves with the child and the URL it prints as "listening on URL". */
function ktListening(args: string[], cwd: string): Promise<{ child: ReturnType<typeof spawn>; url: string }> {
  const child = spawnKt(args, cwd);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`kt ${args[0]} exited with ${code}: ${out}`)));
  });
}

let dir: string;
let data: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-cli-'));
  data = join(dir, 'data');
  const init = await kt(['init', '--data', data, '--origin', 'example.com/kt-cli-test'], dir);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain('origin  example.com/kt-cli-test');
  server = await startServerProcess(['--data', data]);
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [...DEMO, '--server', server.url, '--data', data], (e) => (e ? reject(e) : resolve())),
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kt', () => {
  it('saves the pins, then verifies lookups and histories with them', async () => {
    const trust = await kt(['trust', '--server', server.url, '--save', 'kt-pins.json'], dir);
    expect(trust.code, trust.stderr).toBe(0);
    expect(trust.stdout).toMatch(/fingerprints +log [0-9a-f]{16} +vrf [0-9a-f]{16}/);
    const present = await kt(['lookup', 'chat.example', 'alice@example.org', '--json'], dir);
    expect(present.code, present.stderr).toBe(0);
    expect(JSON.parse(present.stdout)).toMatchObject({
      verified: true,
      status: 'present',
      version: expect.any(Number),
      keys: [expect.objectContaining({ algorithm: 'ed25519' })],
    });
    expect(JSON.parse(readFileSync(join(dir, 'kt-state.json'), 'utf8'))).toMatchObject({
      origin: 'example.com/kt-cli-test',
      checkpoint: expect.stringContaining('example.com/kt-cli-test\n'),
    });
    // The owner of alice@example.org at chat.example monitors it with the key it made: no alarm.
    const aliceKey = JSON.parse(present.stdout).keys[0].publicKey;
    writeFileSync(join(dir, 'alice-key.txt'), aliceKey);
    const monitored = await kt(['monitor', 'chat.example', 'alice@example.org', '--key', aliceKey, '--json'], dir);
    expect(monitored.code, monitored.stderr).toBe(0);
    expect(JSON.parse(monitored.stdout)).toMatchObject({ verified: true, status: 'present', alarms: [] });
    const absent = await kt(['lookup', 'talk.example', 'tel:+15550100001'], dir);
    expect([absent.code, absent.stdout]).toEqual([
      0,
      expect.stringMatching(/^verified: talk.example \/ tel:\+15550100001 is absent/),
    ]);
    const history = await kt(['history', 'chat.example', 'bob@example.org'], dir);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(
      /^verified: history of chat.example \/ bob@example.org after version 0, 1 version\(s\)/,
    );
    // A bound on a lagging replica's answers, pinned by hand as the witness policy is: shown, and used.
    expect(trust.stdout).toMatch(/max lag +none/);
    const pins = JSON.parse(readFileSync(join(dir, 'kt-pins.json'), 'utf8'));
    writeFileSync(join(dir, 'lag-pins.json'), JSON.stringify({ ...pins, maxLagSeconds: 60 }));
    const shown = await kt(['trust', '--pins', 'lag-pins.json'], dir);
    expect(shown.stdout).toMatch(/max lag +60 s/);
    const lagged = await kt(['lookup', 'chat.example', 'alice@example.org', '--pins', 'lag-pins.json'], dir);
    expect(lagged.code, lagged.stderr).toBe(0);
    writeFileSync(join(dir, 'bad-lag-pins.json'), JSON.stringify({ ...pins, maxLagSeconds: 0 }));
    const bad = await kt(['lookup', 'chat.example', 'alice@example.org', '--pins', 'bad-lag-pins.json'], dir);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/maxLagSeconds must be a positive integer/)]);
  });

  it('says, verified, that a provider is not enrolled; a malformed provider or account is a usage error', async () => {
    const typo = await kt(['lookup', 'chat.exmaple', 'alice@example.org'], dir);
    expect([typo.code, typo.stderr]).toEqual([0, '']);
    expect(typo.stdout).toMatch(/^verified: chat\.exmaple is not enrolled in this directory, so it has no account/);
    expect(typo.stdout).toMatch(/enrolled providers: .*chat\.example/);
    const json = await kt(['lookup', 'chat.exmaple', 'alice@example.org', '--json'], dir);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      verified: true,
      result: 'not_enrolled',
      providers: expect.arrayContaining(['chat.example', 'talk.example']),
    });
    const absent = await kt(['lookup', 'talk.example', 'tel:+15550100001', '--json'], dir);
    expect(JSON.parse(absent.stdout)).toMatchObject({ verified: true, result: 'absent' });
    const history = await kt(['history', 'chat.exmaple', 'alice@example.org', '--json'], dir);
    expect([history.code, JSON.parse(history.stdout).result]).toEqual([0, 'not_enrolled']);
    for (const args of [
      ['lookup', 'chat.example', ' alice@example.org'],
      ['lookup', 'chat.example', 'alice@exa mple.org'],
      ['history', 'chat.example', 'tel:555'],
      ['lookup', 'Chat.Example', 'alice@example.org'],
    ]) {
      const r = await kt([...args, '--json'], dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(JSON.parse(r.stdout).error.code, args.join(' ')).toMatch(/^bad_(account|provider)$/);
    }
  });

  it('fails verification with exit 1 on a wrong pin, and on a rollback, writing evidence', async () => {
    const pins = JSON.parse(readFileSync(join(dir, 'kt-pins.json'), 'utf8'));
    writeFileSync(
      join(dir, 'wrong-pins.json'),
      JSON.stringify({ ...pins, vrfKey: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' }),
    );
    const wrong = await kt(
      ['lookup', 'chat.example', 'alice@example.org', '--pins', 'wrong-pins.json', '--state', 'other-state.json'],
      dir,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^VERIFICATION FAILED \[bad_vrf\]/);

    // The client has seen a larger tree signed by the log (made here with the log's key): the server's
    // current answer is a rollback.
    const signer = parseSignerKey(readFileSync(join(data, 'log.key'), 'utf8').trim());
    const future = signCheckpoint(
      { origin: pins.origin, size: 1_000_000, rootHash: sha256(utf8('a tree the client saw')) },
      signer,
    );
    writeFileSync(join(dir, 'rolled-state.json'), JSON.stringify({ origin: pins.origin, checkpoint: future }));
    mkdirSync(join(dir, 'evidence'));
    const rolled = await kt(
      [
        'lookup',
        'chat.example',
        'alice@example.org',
        '--state',
        'rolled-state.json',
        '--evidence-dir',
        'evidence',
        '--json',
      ],
      dir,
    );
    expect(rolled.code).toBe(1);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ verified: false, error: { code: 'rollback' } });
    const [file] = readdirSync(join(dir, 'evidence'));
    const evidence = JSON.parse(readFileSync(join(dir, 'evidence', file), 'utf8'));
    expect(evidence).toMatchObject({ type: 'kt-evidence/v1', kind: 'rollback', origin: pins.origin, accepted: future });
    expect(openCheckpoint(evidence.offered, pins.origin, parseVerifierKey(pins.logKey)).checkpoint.size).toBeLessThan(
      1_000_000,
    );
    expect(JSON.parse(readFileSync(join(dir, 'rolled-state.json'), 'utf8')).checkpoint).toBe(future); // not replaced
    const shown = await kt(['verify-evidence', join('evidence', file)], dir);
    expect([shown.code, shown.stdout]).toEqual([0, expect.stringMatching(/^SHOWN rollback: /)]);
  });

  it('audits the log, resuming from its saved state, with enrolments checked against the roots', async () => {
    const first = await kt(['audit', '--roots', join(data, 'dev-ca.pem'), '--json'], dir);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const r1 = JSON.parse(first.stdout);
    expect(r1).toMatchObject({ audited: true, from: 0, enrolmentsChecked: true });
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [...DEMO, '--server', server.url, '--data', data], (e) => (e ? reject(e) : resolve())),
    );
    // The demo's second run bound a new key that alice's owner did not make: the monitor raises an alarm.
    mkdirSync(join(dir, 'alarms'));
    const alarm = await kt(
      [
        'monitor',
        'chat.example',
        'alice@example.org',
        '--key',
        readFileSync(join(dir, 'alice-key.txt'), 'utf8'),
        '--evidence-dir',
        'alarms',
      ],
      dir,
    );
    expect(alarm.code, alarm.stderr).toBe(1);
    expect(alarm.stdout).toMatch(
      /ALARM \[unexpected_key\] version 2 binds 1 key\(s\) the owner did not make: identity; evidence in alarms\/kt-evidence-unexpected_key-/,
    );
    expect(JSON.parse(readFileSync(join(dir, 'alarms', readdirSync(join(dir, 'alarms'))[0]), 'utf8'))).toMatchObject({
      kind: 'unexpected_key',
      provider: 'chat.example',
      version: 2,
      proof: { history: { since: 1 } },
    });
    const proven = await kt(['verify-evidence', join('alarms', readdirSync(join(dir, 'alarms'))[0]), '--json'], dir);
    expect(proven.code, proven.stderr).toBe(0);
    expect(JSON.parse(proven.stdout)).toMatchObject({ kind: 'unexpected_key', proven: true });
    // A first run (no state yet) that alarms keeps its history proof as the monitor proof it stands for.
    mkdirSync(join(dir, 'first-run'));
    const fresh = await kt(
      [
        'monitor',
        'chat.example',
        'alice@example.org',
        '--key',
        Buffer.alloc(32, 9).toString('base64'), // a key of the right size the owner never made
        '--state',
        'fresh.json',
        '--evidence-dir',
        'first-run',
      ],
      dir,
    );
    expect(fresh.code, fresh.stderr).toBe(1);
    const firstEvidence = join('first-run', readdirSync(join(dir, 'first-run'))[0]);
    const firstProven = await kt(['verify-evidence', firstEvidence, '--json'], dir);
    expect(firstProven.code, firstProven.stdout + firstProven.stderr).toBe(0);
    expect(JSON.parse(firstProven.stdout)).toMatchObject({ kind: 'unexpected_key', proven: true });
    writeFileSync(
      join(dir, 'bogus-evidence.json'),
      JSON.stringify({
        type: 'kt-evidence/v1',
        kind: 'fork',
        origin: 'example.com/kt-cli-test',
        accepted: 'x',
        offered: 'y',
      }),
    );
    expect((await kt(['verify-evidence', 'bogus-evidence.json'], dir)).code).toBe(1);
    const second = await kt(['audit', '--json'], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ audited: true, from: r1.treeSize });
    expect(JSON.parse(second.stdout).treeSize).toBeGreaterThan(r1.treeSize);
    const otherRoot = await kt(['audit', '--state', 'fresh-audit.json', '--roots', join(dir, 'kt-pins.json')], dir);
    expect(otherRoot.code).toBe(2); // not PEM
  }, 60_000);

  it('acts as a provider: key and request, development certificate, enrolment, publication', async () => {
    expect((await kt(['provider', 'keygen', '--id', 'mail.example'], dir)).code).toBe(0);
    expect(readFileSync(join(dir, 'mail.example.csr'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect((await kt(['provider', 'keygen', '--id', 'mail.example'], dir)).code).toBe(2); // never overwritten
    const cert = await kt(['provider', 'certify', '--csr', 'mail.example.csr', '--data', data], dir);
    expect(cert.code, cert.stderr).toBe(0);
    writeFileSync(join(dir, 'mail.example.pem'), cert.stdout);
    const enrolled = await kt(
      ['provider', 'enrol', '--chain', 'mail.example.pem', '--server', server.url, '--data', data, '--wait', '--json'],
      dir,
    );
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(JSON.parse(enrolled.stdout)).toMatchObject({ providerId: 'mail.example', status: 'committed' });
    const publish = (identity: string) =>
      kt(
        [
          'provider',
          'publish',
          '--id',
          'mail.example',
          '--key',
          'mail.example.key',
          '--cert',
          'mail.example.pem',
          '--account',
          'zoe@mail.example',
          '--version',
          '1',
          '--identity',
          identity,
          '--server',
          server.url,
          '--wait',
        ],
        dir,
      );
    // 32 bytes of 0x07 are not an Ed25519 curve point: refused before anything is signed or sent.
    const notAKey = await publish(Buffer.alloc(32, 7).toString('base64'));
    expect([notAKey.code, notAKey.stderr]).toEqual([2, expect.stringMatching(/not a curve point/)]);
    const identity = toBase64(ed25519KeyPairFromSeed(sha256(utf8('zoe identity'))).publicKey);
    const published = await publish(identity);
    expect([published.code, published.stdout]).toEqual([
      0,
      expect.stringMatching(/^committed mail.example \/ zoe@mail.example version 1 in epoch \d+/),
    ]);
    const seen = await kt(
      ['lookup', 'mail.example', 'zoe@mail.example', '--state', 'provider-state.json', '--json'],
      dir,
    );
    expect(JSON.parse(seen.stdout)).toMatchObject({
      verified: true,
      status: 'present',
      keys: [{ publicKey: identity }],
    });
    // A version that does not follow, and a publication outside the provider's namespace, are refused.
    const gap = await kt(
      [
        'provider',
        'publish',
        '--id',
        'mail.example',
        '--key',
        'mail.example.key',
        '--account',
        'zoe@mail.example',
        '--version',
        '3',
        '--identity',
        identity,
        '--server',
        server.url,
      ],
      dir,
    );
    expect([gap.code, gap.stderr]).toEqual([2, expect.stringContaining('[version_gap]')]);
    const outside = await kt(
      [
        'provider',
        'publish',
        '--id',
        'chat.example',
        '--key',
        'mail.example.key',
        '--account',
        'x@chat.example',
        '--version',
        '1',
        '--identity',
        identity,
        '--server',
        server.url,
      ],
      dir,
    );
    expect(outside.code).toBe(2);
    // Naming mail.example's credential for a chat.example statement is refused as such; a file with no
    // certificate is the user's error, before anything is sent.
    const named = (cert: string) =>
      kt(
        [
          'provider',
          'publish',
          '--id',
          'chat.example',
          '--key',
          'mail.example.key',
          '--cert',
          cert,
          '--account',
          'x@chat.example',
          '--version',
          '1',
          '--identity',
          identity,
          '--server',
          server.url,
        ],
        dir,
      );
    const wrong = await named('mail.example.pem');
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringContaining('[wrong_credential]')]);
    const noCert = await named('mail.example.csr');
    expect([noCert.code, noCert.stderr]).toEqual([2, expect.stringContaining('mail.example.csr')]);
  }, 60_000);

  it('verifies KEYTRANS searches and the owner’s monitoring, anchored in the witnessed log (kt keytrans)', async () => {
    const identity = (n: string) => toBase64(ed25519KeyPairFromSeed(sha256(utf8(n))).publicKey);
    const publish = (version: string, key: string) =>
      kt(
        [
          'provider',
          'publish',
          '--id',
          'mail.example',
          '--key',
          'mail.example.key',
          '--account',
          'yan@mail.example',
        ].concat(['--version', version, '--identity', key, '--server', server.url, '--wait']),
        dir,
      );
    for (const [v, key] of [
      ['1', identity('yan 1')],
      ['2', identity('yan 2')],
    ]) {
      const r = await publish(v, key);
      expect(r.code, r.stderr).toBe(0);
    }
    const search = (...extra: string[]) =>
      kt(
        ['keytrans', 'search', '--provider', 'mail.example', '--account', 'yan@mail.example', '--json', ...extra],
        dir,
      );
    const found = await search();
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({
      verified: true,
      version: 2,
      keytransVersion: 1,
      status: 'active',
    });
    const first = await search('--version', '1');
    expect(JSON.parse(first.stdout)).toMatchObject({ verified: true, version: 1, keytransVersion: 0 });
    const owner = () =>
      kt(['keytrans', 'owner', '--provider', 'mail.example', '--account', 'yan@mail.example', '--json'], dir);
    for (let i = 0; i < 2; i++) {
      const o = await owner();
      expect(o.code, o.stderr).toBe(0);
      expect(JSON.parse(o.stdout)).toMatchObject({ verified: true });
    }
    const made = await kt(
      ['keytrans', 'owner', '--provider', 'mail.example', '--account', 'yan@mail.example', '--made', '0'],
      dir,
    );
    expect([made.code, made.stderr]).toEqual([2, expect.stringContaining('--made must be a positive integer')]);
    // zoe's history began before mail.example had a deployment: not in KEYTRANS (draft-05 has no negative result).
    const zoe = await kt(['keytrans', 'search', '--provider', 'mail.example', '--account', 'zoe@mail.example'], dir);
    expect([zoe.code, zoe.stderr]).toEqual([2, expect.stringContaining('[kt_label_absent]')]);
    // Pins of another log: the anchor's checkpoint is refused, a verification failure.
    const pins = JSON.parse(readFileSync(join(dir, 'kt-pins.json'), 'utf8'));
    const other = generateSignerKey(pins.origin);
    writeFileSync(join(dir, 'other-pins.json'), JSON.stringify({ ...pins, logKey: other.verifierKey }));
    const wrong = await search('--pins', 'other-pins.json', '--state', 'fresh-keytrans.json');
    expect([wrong.code, wrong.stdout]).toEqual([1, expect.stringContaining('anchor_bad_checkpoint')]);
  }, 60_000);

  it('serves a directory with kt serve, as npm start does', async () => {
    const { child, url } = await ktListening(['serve', '--data', join(dir, 'served'), '--port', '0'], dir);
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ ok: true, treeSize: 1 });
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);

  it('answers usage, configuration and network errors with exit 2', async () => {
    for (const args of [
      ['lookup', 'chat.example'],
      ['lookup', '--bogus'],
      ['history', 'chat.example', 'b@chat.example', '--since', '2'],
      ['nonsense'],
      ['lookup', 'chat.example', 'b@chat.example', '--pins', 'missing.json'],
      ['lookup', 'chat.example', 'b@chat.example', '--server', 'http://127.0.0.1:1'],
    ]) {
      const r = await kt(args, dir);
      expect(r.code, args.join(' ')).toBe(2);
    }
    const help = await kt(['history', '--help'], dir);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('usage: kt history')]);
  });

  it("runs an auditing witness that cosigns the server's checkpoint", async () => {
    const init = await kt(['witness', 'init', '--name', 'witness.example/cli', '--key', 'w.key', '--json'], dir);
    expect(init.code, init.stderr).toBe(0);
    const { cosignerKey } = JSON.parse(init.stdout);
    expect((await kt(['witness', 'init', '--name', 'witness.example/cli', '--key', 'w.key'], dir)).code).toBe(2); // never overwritten
    const pins = JSON.parse(readFileSync(join(dir, 'kt-pins.json'), 'utf8'));
    // An auditing witness: it audits the log up to each submitted checkpoint before cosigning it.
    const { child, url } = await ktListening(
      [
        'witness',
        'serve',
        '--key',
        'w.key',
        '--state',
        'w-state.json',
        '--port',
        '0',
        '--log',
        `${pins.origin}=${pins.logKey}`,
        '--audit',
        `${pins.origin}=${server.url}/log`,
      ],
      dir,
    );
    try {
      const note = await (await fetch(`${server.url}/log/checkpoint`)).text();
      const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: addCheckpointBody(0, [], note) });
      expect(res.status).toBe(200);
      const cosigned = openCheckpoint(note + (await res.text()), pins.origin, parseVerifierKey(pins.logKey), [
        parseCosignerKey(cosignerKey),
      ]);
      expect(cosigned.cosignatures.map((c) => c.name)).toEqual(['witness.example/cli']);
      expect(existsSync(join(dir, 'w-state.json'))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'w-state.json'), 'utf8'))[pins.origin].size).toBe(
        cosigned.checkpoint.size,
      );
      // The auditing witness's state and replayed map, in its SQLite file (cli/audit-store.ts), which the running
      // witness holds for itself: read once it has stopped.
      const auditFile = join(dir, `audit-${pins.origin.replace(/[^A-Za-z0-9.-]/g, '_')}.db`);
      expect(() => SqliteAuditStore.open(auditFile)).toThrow('is in use by another audit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      const audit = SqliteAuditStore.open(auditFile);
      expect(audit.store.savedState()?.replay.size).toBe(cosigned.checkpoint.size);
      audit.store.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});
