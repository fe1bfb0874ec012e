/**
 * `npm run bench`: measures each figure of DESIGN.md's performance table that the project implements so
 * far, prints one line per figure with its target (and the peer measured in the same run), and writes
 * bench/results.json. Exits 0 even when a target is missed: the verdict is in the output.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatFigure, type Figure } from './harness.js';
import { benchAppend, benchInclusion, benchTreeBuild } from './log-bench.js';

const figures: Figure[] = [];
async function run(f: () => Figure | Promise<Figure>): Promise<void> {
  const figure = await f();
  figures.push(figure);
  console.log(formatFigure(figure));
}

console.log(`kt-directory benchmarks on Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`);
await run(benchAppend);
await run(benchInclusion);
await run(benchTreeBuild);

const out = fileURLToPath(new URL('./results.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, figures }, null, 2)}\n`);
console.log(`wrote ${out}`);
