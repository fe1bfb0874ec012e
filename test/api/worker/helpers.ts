/**
 * Helpers of the Worker's directory tests, inside workerd: requests through the Worker's fetch, the
 * sequencer's stub, waiting for a `?wait=1` answer by running the sequencer's alarm (which closes the
 * epoch), and the test root CA (created in Node by test/fixtures/worker-directory.ts and trusted by the Worker)
 * with its private key, so that test/helpers/pki.ts issues provider certificates here, over workerd's WebCrypto.
 */
import 'reflect-metadata'; // before @peculiar/x509, whose dependency injection needs it (as test/helpers/pki.ts)
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import * as x509 from '@peculiar/x509';
import { expect } from 'vitest';
import { fromBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { decodeEntry } from '../../../verifier/formats/entries.js';
import { MemoryMapStore, StoredMap } from '../../../verifier/formats/stored-map.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import type { Directory } from '../../../log/directory/directory.js';
import type { SequencerState } from '../../../api/worker/sequencer-state.js';
import type { PkiCert } from '../../helpers/pki.js';
import type { IndexDatabase, IndexLayout } from '../../../api/worker/d1-layout.js';
import { D1DirectoryReader } from '../../../api/worker/d1-reader.js';
import { parseVrfSecretKey } from '../../../api/wiring/settings.js';
import { inlineVrfProver } from '../../../log/directory/vrf-prover.js';

export const fixture = env.KT_FIXTURE;

export function get(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://kt.example${path}`, init));
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return get(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export const operator = () => ({ Authorization: `Bearer ${fixture.operatorToken}` });

/** A fresh stub of the sequencer (stubs break when their object is aborted). */
export const sequencer = () => env.LOG.get(env.LOG.idFromName('log'));

/** Runs `fn` in the sequencer with its open directory and storage. */
export function inSequencer<R>(
  fn: (open: SequencerState & { directory: Directory }, storage: DurableObjectStorage) => Promise<R>,
): Promise<R> {
  return runInDurableObject(sequencer(), (instance, state) => {
    const open = (instance as unknown as { state: SequencerState }).state;
    if (!open.directory) throw new Error('the sequencer has no directory');
    return fn({ ...open, directory: open.directory }, state.storage);
  });
}

/** The requests and RPCs the writer object was sent so far. */
export const invocations = () =>
  runInDurableObject(sequencer(), async (instance) => (instance as unknown as { invocations: number }).invocations);

/** Runs the sequencer's alarm until `res` is answered (a `?wait=1` request, or a revocation). */
export async function settle(res: Promise<Response>): Promise<Response> {
  let done = false;
  const answered = res.finally(() => (done = true));
  while (!done) {
    await runDurableObjectAlarm(sequencer());
    await new Promise((r) => setTimeout(r, 5));
  }
  return answered;
}

/** The test root CA as an issuer for test/helpers/pki.ts's `makeLeaf` (only its name, key type and private key are used). */
export async function testRoot(): Promise<PkiCert> {
  const cert = new x509.X509Certificate(fixture.rootPem);
  const privateKey = await crypto.subtle.importKey(
    'pkcs8',
    fromBase64(fixture.rootKeyPkcs8),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const publicKey = await cert.publicKey.export();
  return {
    der: new Uint8Array(cert.rawData),
    pem: fixture.rootPem,
    cert,
    name: cert.subject,
    keys: { privateKey, publicKey },
    algorithm: 'p256',
    secretKey: new Uint8Array(0),
    publicKey: new Uint8Array(0),
  };
}

/**
 * The Worker's lookup of (provider, account) for a client address, verified with the directory's pins from
 * /v1/config: the verdict's status and the statement's version.
 */
export async function verifiedLookup(
  provider: string,
  account: string,
  client: string,
): Promise<[status: string, version: number | undefined]> {
  const pins = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
  const verifier = new LookupVerifier({
    origin: pins.origin,
    logKey: parseVerifierKey(pins.logKey),
    vrfKey: fromBase64(pins.vrfKey),
  });
  const res = await get(`/v1/lookup/${provider}/${encodeURIComponent(account)}`, {
    headers: { 'cf-connecting-ip': client },
  });
  if (res.status !== 200) return [`HTTP ${res.status}`, undefined];
  const verdict = verifier.verifyLookup(lookupFromJson(await res.json()), provider, account);
  return [verdict.status, verdict.statement?.version];
}

/** A reader of the D1 replica as an isolate makes one, over `layout` (no entry bundles: erased versions fail). */
export const d1Reader = (layout: IndexLayout) =>
  new D1DirectoryReader({
    layout,
    vrfProver: inlineVrfProver(parseVrfSecretKey(env.VRF_SECRET_KEY, 'VRF_SECRET_KEY')),
    entryBundle: async () => null,
  });

/** The map's rows as D1's shards in `layout` give them at `epoch`: each key's newest row at or before it. */
export async function replicatedRowsAt(
  layout: IndexLayout,
  epoch: number,
): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
  const rows: { key: Uint8Array; value: Uint8Array }[] = [];
  for (const db of layout.shards) {
    const { results } = await db
      .prepare(
        'SELECT key, node FROM dir_map_rows r WHERE epoch = (SELECT MAX(epoch) FROM dir_map_rows n WHERE n.key = r.key AND n.epoch <= ?)',
      )
      .bind(epoch)
      .all<{ key: ArrayBuffer; node: ArrayBuffer }>();
    rows.push(...results.map((r) => ({ key: new Uint8Array(r.key), value: new Uint8Array(r.node) })));
  }
  return rows;
}

type Row = Record<string, unknown>;

/** Every row of `tables` of a database, as a backup of it holds them. */
export async function backupTables(db: IndexDatabase, tables: string[]): Promise<Map<string, Row[]>> {
  const copy = new Map<string, Row[]>();
  for (const t of tables) copy.set(t, (await db.prepare(`SELECT * FROM ${t}`).all<Row>()).results);
  return copy;
}

/** The tables of `copy` emptied and filled again from it, in one batch: the database restored from a backup. */
export async function restoreTables(db: IndexDatabase, copy: Map<string, Row[]>): Promise<void> {
  const statements = [...copy.keys()].map((t) => db.prepare(`DELETE FROM ${t}`));
  for (const [t, rows] of copy)
    for (const row of rows) {
      const columns = Object.keys(row);
      const values = columns.map((c) => row[c]);
      statements.push(
        db
          .prepare(`INSERT INTO ${t} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
          .bind(...values),
      );
    }
  await db.batch(statements);
}

/** The sum over every database of `layout` of the count `query` (a `SELECT COUNT(*) AS n`, bound to `epoch`) gives. */
export async function countInEveryDatabase(layout: IndexLayout, query: string, epoch: number): Promise<number> {
  let n = 0;
  for (const db of layout.shards) n += (await db.prepare(query).bind(epoch).first<{ n: number }>())!.n;
  return n;
}

/** The keys with more than one map row at or before `epoch`, in every database: rows no later reader reads. */
export const supersededKeys = (layout: IndexLayout, epoch: number) =>
  countInEveryDatabase(
    layout,
    'SELECT COUNT(*) AS n FROM (SELECT key FROM dir_map_rows WHERE epoch <= ? GROUP BY key HAVING COUNT(*) > 1)',
    epoch,
  );

/** Expects each epoch from `from` to `to` to read as it was: the map its D1 rows make has the root its head signed. */
export async function expectEpochsReadAsHeads(layout: IndexLayout, from: number, to: number): Promise<void> {
  for (let e = from; e <= to; e++) {
    const store = new MemoryMapStore();
    store.writeMapRows(await replicatedRowsAt(layout, e));
    const head = await layout.meta
      .prepare('SELECT entry FROM dir_heads WHERE epoch = ?')
      .bind(e)
      .first<{ entry: ArrayBuffer }>();
    const entry = decodeEntry(new Uint8Array(head!.entry));
    if (entry.type !== 'epoch') throw new Error('not an epoch head');
    expect(toHex(new StoredMap(store).root()), `epoch ${e}`).toBe(toHex(entry.mapRoot));
  }
}
