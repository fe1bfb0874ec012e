/**
 * The peer of the scale run, in a process of its own (bench/cold-start-bench.ts): `node
 * --max-old-space-size=M --import tsx bench/rebuild-child.ts DB_PATH`. It does what the release before the
 * stored map did on every open, reading every account's leaf and rebuilding the whole prefix tree in memory
 * (`PrefixTree.fromLeaves`), and prints one JSON line: the milliseconds it took and the bytes of the tree's
 * arrays. Its own process because at 10M accounts the rows alone outgrow the bench's default heap.
 */
import Database from 'better-sqlite3';
import { PrefixTree } from '../verifier/formats/prefix-tree.js';

const [dbPath] = process.argv.slice(2);
const db = new Database(dbPath, { readonly: true });
const started = performance.now();
const rows = db.prepare('SELECT label, version, history FROM dir_accounts').all() as {
  label: Uint8Array;
  version: number;
  history: Uint8Array;
}[];
const tree = PrefixTree.fromLeaves(rows.map((r) => ({ label: r.label, version: r.version, historyHash: r.history })));
tree.root();
const ms = performance.now() - started;
db.close();
console.log(JSON.stringify({ ms, bytes: tree.byteLength }));
