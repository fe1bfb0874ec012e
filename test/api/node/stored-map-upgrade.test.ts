/**
 * The in-place upgrade to the stored map (docs/PROTOCOL.md section 21), on the real Node server as a child
 * process, over a data directory written by the release before it (test/fixtures/data-before-stored-map.json,
 * made by test/fixtures/make-data-before-stored-map.sh): three providers, accounts at versions 1 to 3 and
 * one deleted. The new server builds the map's rows from the accounts when it opens, checked against the
 * last signed map root; every account it served before is served again with proofs that verify (present,
 * deleted, absent); new versions and new accounts commit on top; a restart opens the rows without building
 * them again; and `kt audit` replays the whole log from entry 0 and passes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { ed25519SeedFromPem } from '../../../api/node/dev-ca.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { unpackDataFixture } from '../../helpers/data-fixture.js';
import { signedIdentityStatement } from '../../helpers/directory.js';
import { kt } from '../../helpers/kt-process.js';
import { startServerProcess } from '../../helpers/server-process.js';

async function verifierOf(url: string) {
  const config = await (await fetch(`${url}/v1/config`)).json();
  return new LookupVerifier({
    origin: config.origin,
    logKey: parseVerifierKey(config.logKey),
    vrfKey: fromBase64(config.vrfKey),
  });
}

async function verifiedLookup(url: string, provider: string, account: string) {
  const res = await fetch(`${url}/v1/lookup/${provider}/${encodeURIComponent(account)}`);
  expect(res.status).toBe(200);
  return (await verifierOf(url)).verifyLookup(lookupFromJson(await res.json()), provider, account);
}

/** How many map rows and accounts the data directory's store holds. */
function counts(data: string): { rows: number; accounts: number } {
  const db = new Database(join(data, 'log.db'), { readonly: true });
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  try {
    return { rows: count('dir_map'), accounts: count('dir_accounts') };
  } finally {
    db.close();
  }
}

describe('the stored map upgrade (Node server)', () => {
  it("builds the map's rows from the accounts of the previous release, serves them, and passes kt audit", async () => {
    const data = unpackDataFixture('data-before-stored-map');
    let server = await startServerProcess(['--data', data]);
    try {
      // What the previous release served is served again, and verifies.
      expect((await verifiedLookup(server.url, 'chat.example', 'alice@example.org')).statement?.version).toBe(2);
      expect((await verifiedLookup(server.url, 'gone.example', 'user2@gone.example')).statement?.version).toBe(2);
      expect((await verifiedLookup(server.url, 'gone.example', 'user40@gone.example')).statement?.version).toBe(1);
      const deleted = await verifiedLookup(server.url, 'gone.example', 'user1@gone.example');
      expect([deleted.status, deleted.statement?.version]).toEqual(['deleted', 3]);
      expect((await verifiedLookup(server.url, 'gone.example', 'user41@gone.example')).status).toBe('absent');
      // n labels (the deleted account keeps its label) make n - 1 nodes, and the root row.
      const before = counts(data);
      expect(before.accounts).toBeGreaterThan(40);
      expect(before.rows).toBe(before.accounts);

      // New versions and new accounts commit on top of the upgraded map.
      const secret = ed25519SeedFromPem(readFileSync(join(data, 'provider', 'gone.example.key'), 'utf8'));
      const statements = [
        signedIdentityStatement('gone.example', secret, 'user2@gone.example', 3),
        signedIdentityStatement('gone.example', secret, 'user41@gone.example', 1),
      ].map((s) => ({ statement: toBase64(s.statement), signature: toBase64(s.signature) }));
      const posted = await fetch(`${server.url}/v1/bindings?wait=1`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ statements }),
      });
      expect(posted.status).toBe(200);
      expect((await verifiedLookup(server.url, 'gone.example', 'user2@gone.example')).statement?.version).toBe(3);
      expect((await verifiedLookup(server.url, 'gone.example', 'user41@gone.example')).statement?.version).toBe(1);
      expect(await server.stop()).toBe(0);

      // A restart opens the stored rows as they are (nothing rebuilt: one more node, for user41).
      expect(counts(data)).toEqual({ rows: before.rows + 1, accounts: before.accounts + 1 });
      server = await startServerProcess(['--data', data]);
      expect((await verifiedLookup(server.url, 'gone.example', 'user41@gone.example')).statement?.version).toBe(1);

      // The auditor replays every epoch from entry 0, the previous release's and the new ones.
      const client = join(data, '..');
      const trust = await kt(['trust', '--server', server.url, '--save', 'kt-pins.json'], client);
      expect(trust.code, trust.stderr).toBe(0);
      const audit = await kt(['audit', '--roots', join(data, 'dev-ca.pem'), '--json'], client);
      expect(audit.code, audit.stderr + audit.stdout).toBe(0);
      expect(JSON.parse(audit.stdout)).toMatchObject({ audited: true, from: 0, enrolmentsChecked: true });
    } finally {
      await server.stop();
    }
  });
});
