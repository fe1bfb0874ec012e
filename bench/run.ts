/**
 * `npm run bench`: measures each figure of DESIGN.md's performance table that the project implements so
 * far, prints one line per figure with its target (and the peer measured in the same run), and writes
 * bench/results.json. Exits 0 even when a target is missed: the verdict is in the output.
 * `npm run bench -- --quick` skips the figures at 1,000,000 accounts (a few minutes on 2 cores);
 * `--only WORD` runs only the benchmarks whose function name contains WORD (e.g. `--only http`).
 * `--accounts N` sets the size of the writer's cold-start and memory run (default 1,000,000; the scale
 * run: `npm run bench -- --only cold --accounts 10000000 --scale-dir DIR`, not part of CI; DIR keeps the
 * built directory, and a build stopped part way resumes there).
 * `--only durable [--accounts N] [--object-storage edge]` runs the Durable Object's working set in workerd (default 2,000,000
 * accounts, about half an hour; never part of the default run); `--only durableupgrade [--accounts N]` the in-place
 * upgrade of a Durable Object of the release before the stored map (default 800,000 accounts).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchNewAccounts, benchPublishLatency, benchRotations } from './directory-bench.js';
import { formatFigure, type Figure } from './harness.js';
import { benchAppend, benchInclusion, benchTreeBuild } from './log-bench.js';
import { benchMapBuild, benchMapInsert } from './map-bench.js';
import { benchScale } from './scale-bench.js';
import { benchHttpLookups } from './http-bench.js';
import { benchAbuse } from './abuse-bench.js';
import { benchAuditReplay, benchClientVerify } from './verifier-bench.js';
import { benchClientBundles, benchKtHelpStartup } from './client-bench.js';
import { benchWriterColdStart } from './cold-start-bench.js';
import { benchDurableObject, benchDurableUpgrade } from './durable-object-bench.js';
import { benchDurableGarbage } from './workerd-garbage-bench.js';
import { benchKeyTransBundle, benchKeyTransRotations, benchKeyTransSearch } from './keytrans-bench.js';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1]?.toLowerCase() : undefined;
const accountsAt = process.argv.indexOf('--accounts');
const accountsGiven = accountsAt >= 0 ? Number(process.argv[accountsAt + 1]) : undefined;
if (accountsGiven !== undefined && (!Number.isSafeInteger(accountsGiven) || accountsGiven < 1))
  throw new Error('--accounts takes a positive integer');
const accounts = accountsGiven ?? 1_000_000;
const scaleDirAt = process.argv.indexOf('--scale-dir');
const scaleDir = scaleDirAt >= 0 ? process.argv[scaleDirAt + 1] : undefined;
if (scaleDirAt >= 0 && !scaleDir) throw new Error('--scale-dir takes a folder');
const figures: Figure[] = [];
async function run(f: () => Figure | Figure[] | Promise<Figure | Figure[]>): Promise<void> {
  if (only !== undefined && !f.name.toLowerCase().includes(only)) return;
  const result = await f();
  for (const figure of Array.isArray(result) ? result : [result]) {
    figures.push(figure);
    console.log(formatFigure(figure));
  }
}

console.log(
  `kt-directory benchmarks on Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`,
);
await run(benchAppend);
await run(benchInclusion);
await run(benchTreeBuild);
await run(benchRotations);
await run(benchNewAccounts);
await run(benchPublishLatency);
await run(benchClientVerify);
await run(benchAuditReplay);
await run(benchClientBundles);
await run(benchKtHelpStartup);
await run(benchAbuse);
await run(benchKeyTransBundle);
await run(benchKeyTransRotations);
if (!quick) {
  await run(benchKeyTransSearch);
  await run(benchMapInsert);
  await run(benchMapBuild);
  await run(benchScale);
  await run(benchHttpLookups);
  await run(
    Object.defineProperty(() => benchWriterColdStart(accounts, scaleDir), 'name', { value: 'benchWriterColdStart' }),
  );
}
if (only === 'durable' || only === 'durablegarbage') {
  await run(benchDurableGarbage);
  const storageAt = process.argv.indexOf('--object-storage');
  const storage = storageAt >= 0 ? process.argv[storageAt + 1] : 'full';
  if (storage !== 'full' && storage !== 'edge') throw new Error('--object-storage is full or edge');
  const durable = () => benchDurableObject(accountsGiven ?? 2_000_000, storage);
  await run(Object.defineProperty(durable, 'name', { value: 'benchDurableObject' }));
}
if (only === 'durableupgrade') {
  const upgrade = () => benchDurableUpgrade(accountsGiven ?? 800_000);
  await run(Object.defineProperty(upgrade, 'name', { value: 'benchDurableUpgrade' }));
}

/** The KEYTRANS figures' peers: the directory's own figures of this run, where they ran. */
function linkPeers(): void {
  const byId = new Map(figures.map((f) => [f.id, f]));
  for (const [id, peerId, name] of [
    ['keytrans_search_bytes', 'lookup_proof_size', "this directory's lookup proof material"],
    ['keytrans_search_verify', 'client_verify', "this directory's lookup verification"],
    ['publish_rotations_keytrans', 'publish_rotations', 'plain rotations (KEYTRANS off)'],
  ] as const) {
    const f = byId.get(id);
    const peer = byId.get(peerId);
    if (!f || !peer) continue;
    f.note = `${f.note ? `${f.note}; ` : ''}${name}: ${peer.value.toFixed(0)} ${peer.unit}`;
    console.log(`      ${f.id}: ${name} in this run: ${peer.value.toFixed(0)} ${peer.unit}`);
  }
}
linkPeers();

const out = fileURLToPath(new URL('./results.json', import.meta.url));
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, quick, only, figures }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
