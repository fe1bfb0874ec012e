/**
 * Benchmarks of the map (verifier/formats/prefix-tree.ts): the prefix-tree insert rate on a tree of 1,000,000 labels against
 * the hash-rate bound measured in the same run (issue 3: >= 50%), where the bound is the single-core rate
 * of `sha256` on 80-byte inputs (the size of a node hash input) divided by the hashes the tree actually
 * performs per update; and the bulk build of 1,000,000 leaves with the memory the tree holds. Labels and
 * history hashes are SHA-256 outputs, as in the directory.
 */
import { u64be, utf8 } from '../wasm-free-crypto/bytes.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { PrefixTree } from '../verifier/formats/prefix-tree.js';
import { type MapLeaf } from '../verifier/formats/map-proof.js';
import { median, opsPerSecond, type Figure } from './harness.js';

const LEAVES = 1_000_000;
const seed = utf8('map bench');

function leaf(i: number, tag: string, version = 1): MapLeaf {
  return { label: sha256(seed, utf8(tag), u64be(i)), version, historyHash: sha256(seed, u64be(i), u64be(version)) };
}

/** Single-core SHA-256 rate on 80-byte inputs (hashes/s). */
export function sha256Rate80(): number {
  const input = new Uint8Array(80);
  return opsPerSecond(() => {
    for (let i = 0; i < 1000; i++) {
      input[0] = i;
      sha256(input);
    }
  }, 1000);
}

/** A tree of `n` leaves built from scratch. */
export function benchTree(n = LEAVES): PrefixTree {
  return PrefixTree.fromLeaves(Array.from({ length: n }, (_, i) => leaf(i, 'base')));
}

/**
 * Runs `rounds` batches of `batch` updates made by `make(round, i)` on `tree` (after one warm-up batch);
 * returns the median rate in updates/s and the mean hashes per update.
 */
export function batchRate(
  tree: PrefixTree,
  batch: number,
  make: (round: number, i: number) => MapLeaf,
  rounds = 7,
): { rate: number; hashesPerUpdate: number } {
  const rates: number[] = [];
  let hashes = 0;
  for (let r = -1; r < rounds; r++) {
    const updates = Array.from({ length: batch }, (_, i) => make(r + 1, i));
    const before = tree.hashesComputed;
    const start = performance.now();
    tree.applyBatch(updates);
    const ms = performance.now() - start;
    if (r < 0) continue;
    rates.push((batch * 1000) / ms);
    hashes += tree.hashesComputed - before;
  }
  return { rate: median(rates), hashesPerUpdate: hashes / (rounds * batch) };
}

/** New labels inserted into a 1,000,000-label map in batches of 1,000, against the hash-rate bound. */
export function benchMapInsert(tree: PrefixTree = benchTree()): Figure {
  const shaRate = sha256Rate80();
  const batch = 1000;
  const { rate, hashesPerUpdate } = batchRate(tree, batch, (r, i) => leaf(r * batch + i, 'insert'));
  const bound = shaRate / hashesPerUpdate;
  return {
    id: 'map_insert',
    name: `prefix-tree insert, batches of ${batch} new labels into a map of ${(tree.size / 1e6).toFixed(1)}M`,
    value: rate,
    unit: 'updates/s',
    target: '>= 50% of the hash-rate bound (SHA-256 80-byte rate / hashes per update)',
    pass: rate >= 0.5 * bound,
    peer: {
      name: `hash-rate bound (${Math.round(shaRate)} hashes/s / ${hashesPerUpdate.toFixed(2)} hashes per update)`,
      value: bound,
      unit: 'updates/s',
    },
    note: `${((100 * rate) / bound).toFixed(0)}% of the bound`,
  };
}

/** Bulk build of 1,000,000 leaves: leaves/s, with the bytes the tree holds per leaf in the note. */
export function benchMapBuild(): Figure {
  const leaves = Array.from({ length: LEAVES }, (_, i) => leaf(i, 'build'));
  const start = performance.now();
  const tree = PrefixTree.fromLeaves(leaves);
  const ms = performance.now() - start;
  const rate = (LEAVES * 1000) / ms;
  return {
    id: 'map_build',
    name: 'prefix-tree bulk build of 1,000,000 leaves (sort + one hash per leaf and per node)',
    value: rate,
    unit: 'leaves/s',
    target: 'build 1M leaves in a few seconds (>= 250,000 leaves/s), well under 1 GB',
    pass: rate >= 250_000 && tree.byteLength < 1e9,
    note: `${(ms / 1000).toFixed(1)} s, tree arrays ${(tree.byteLength / 1e6).toFixed(0)} MB (${(tree.byteLength / LEAVES).toFixed(0)} B/leaf)`,
  };
}
