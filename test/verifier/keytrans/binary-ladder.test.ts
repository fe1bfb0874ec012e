/**
 * Tests for verifier/keytrans/binary-ladder.ts: every case of the tree-math vectors' `search_binary_ladder`,
 * `search_binary_ladder_large`, `search_binary_ladder_with_omissions` and `monitoring_binary_ladder` sections; a
 * line-by-line BigInt port of Appendix B's Python (draft-05, and the rule after it that skips versions above
 * 2^32 - 1) checked against the ladders for every target and greatest version up to 130 and for random ones over
 * the whole uint32 range, with 2^32 - 1 itself; a client's run of a search ladder, fed the results an honest log
 * would give and random sets of lookups already shown, asks exactly the versions the log sends and places the
 * greatest version correctly; a run against a log answering at random always ends; invalid arguments refused.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_VERSION,
  binaryLadder,
  monitoringBinaryLadder,
  runSearchLadder,
  searchBinaryLadder,
  type LadderResult,
} from '../../../verifier/keytrans/binary-ladder.js';
import { errorCode } from '../../helpers/error-code.js';
import { prng } from '../../helpers/prng.js';
import { vectorJson } from '../../helpers/vectors.js';

interface TreeMath {
  search_binary_ladder: { t: number; by_n: number[][] }[];
  search_binary_ladder_large: { t: number; n: number; ladder: number[] }[];
  search_binary_ladder_with_omissions: {
    description: string;
    t: number;
    n: number;
    left_inclusion: number[];
    right_non_inclusion: number[];
    ladder: number[];
  }[];
  monitoring_binary_ladder: number[][];
}

const vectors = vectorJson<TreeMath>('keytrans/tree-math.json');

describe('tree-math.json: binary ladders', () => {
  it('search_binary_ladder: every target t and greatest version n in 0..64', () => {
    expect(vectors.search_binary_ladder.map((v) => v.t)).toEqual(Array.from({ length: 65 }, (_, t) => t));
    for (const v of vectors.search_binary_ladder) {
      expect(v.by_n.length).toBe(65);
      const got = v.by_n.map((_, n) => searchBinaryLadder(v.t, n));
      expect(got, `t = ${v.t}`).toEqual(v.by_n);
    }
  });
  it('search_binary_ladder_large', () => {
    expect(vectors.search_binary_ladder_large.length).toBe(10);
    for (const v of vectors.search_binary_ladder_large)
      expect(searchBinaryLadder(v.t, v.n), `t = ${v.t}, n = ${v.n}`).toEqual(v.ladder);
  });
  it('search_binary_ladder_with_omissions', () => {
    expect(vectors.search_binary_ladder_with_omissions.length).toBe(5);
    for (const v of vectors.search_binary_ladder_with_omissions) {
      const shown = { leftInclusion: v.left_inclusion, rightNonInclusion: v.right_non_inclusion };
      expect(searchBinaryLadder(v.t, v.n, shown), v.description).toEqual(v.ladder);
      expect(runSearchLadder(v.t, (x) => x <= v.n, shown).lookups, v.description).toEqual(v.ladder);
    }
  });
  it('monitoring_binary_ladder: every target t in 0..256', () => {
    expect(vectors.monitoring_binary_ladder.length).toBe(257);
    const got = vectors.monitoring_binary_ladder.map((_, t) => monitoringBinaryLadder(t));
    expect(got).toEqual(vectors.monitoring_binary_ladder);
  });
});

// Appendix B's Python, line by line over BigInt; `cap` applies the rule after draft-05 (versions < 2^32 only).
function refBase(n: bigint, cap: boolean): bigint[] {
  const out: bigint[] = [];
  for (;;) {
    const value = (1n << BigInt(out.length)) - 1n;
    out.push(value);
    if (value > n) break;
  }
  let [lower, upper] = [out.at(-2)!, out.at(-1)!];
  while (lower + 1n < upper) {
    const value = (lower + upper) / 2n;
    out.push(value);
    if (value <= n && (!cap || value < 1n << 32n)) lower = value;
    else upper = value;
  }
  return cap ? out.filter((v) => v < 1n << 32n) : out;
}

function refSearch(t: bigint, n: bigint, left: bigint[] = [], right: bigint[] = [], cap = true): bigint[] {
  const wouldEnd = (v: bigint) => (v <= n && v > t) || (v > n && v <= t);
  const out = refBase(n, cap);
  const i = out.findIndex(wouldEnd);
  return out.slice(0, i < 0 ? out.length : i + 1).filter((v) => !left.includes(v) && !right.includes(v));
}

const refMonitoring = (t: bigint): bigint[] => refBase(t, true).filter((v) => v <= t);
const nums = (xs: bigint[]): number[] => xs.map(Number);

describe("against Appendix B's Python", () => {
  it('every target and greatest version up to 130', () => {
    for (let t = 0; t <= 130; t++) {
      const got = Array.from({ length: 131 }, (_, n) => searchBinaryLadder(t, n));
      const want = Array.from({ length: 131 }, (_, n) => nums(refSearch(BigInt(t), BigInt(n))));
      expect(got, `t = ${t}`).toEqual(want);
      expect(monitoringBinaryLadder(t)).toEqual(nums(refMonitoring(BigInt(t))));
      expect(binaryLadder(t)).toEqual(nums(refBase(BigInt(t), true)));
    }
  });

  it('random targets and greatest versions over the uint32 range, and its edges', () => {
    const rand = prng(32);
    const edges = [0, 1, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, MAX_VERSION];
    const pairs: [number, number][] = edges.flatMap((t) => edges.map((n): [number, number] => [t, n]));
    for (let i = 0; i < 300; i++) {
      const t = Math.floor(rand() * 2 ** 32);
      const near = Math.min(MAX_VERSION, Math.max(0, t + Math.floor(rand() * 64) - 32));
      pairs.push([t, Math.floor(rand() * 2 ** 32)], [t, near], [t, t]);
    }
    const got = pairs.map(([t, n]) => searchBinaryLadder(t, n));
    expect(got).toEqual(pairs.map(([t, n]) => nums(refSearch(BigInt(t), BigInt(n)))));
    expect(got.flat().every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_VERSION)).toBe(true);
    const targets = pairs.map(([t]) => t);
    expect(targets.map(monitoringBinaryLadder)).toEqual(targets.map((t) => nums(refMonitoring(BigInt(t)))));
  });

  it('the greatest version 2^32 - 1: draft-05 would look up versions no uint32 holds; they are skipped', () => {
    const powers = Array.from({ length: 33 }, (_, k) => 2 ** k - 1);
    expect(binaryLadder(MAX_VERSION)).toEqual(powers);
    expect(searchBinaryLadder(MAX_VERSION, MAX_VERSION)).toEqual(powers);
    expect(monitoringBinaryLadder(MAX_VERSION)).toEqual(powers);
    expect(runSearchLadder(MAX_VERSION, () => true)).toEqual({ lookups: powers, result: 'equal' });
    const draft05 = nums(refSearch(BigInt(MAX_VERSION), BigInt(MAX_VERSION), [], [], false));
    expect(draft05.slice(0, 33)).toEqual(powers);
    expect(draft05.slice(33).every((v) => v > MAX_VERSION)).toBe(true);
    expect(draft05.at(-1)).toBe(2 ** 32);
    // Below 2^32 - 1 the rule changes nothing.
    expect(nums(refSearch(BigInt(MAX_VERSION - 1), BigInt(MAX_VERSION - 1), [], [], false))).toEqual(
      searchBinaryLadder(MAX_VERSION - 1, MAX_VERSION - 1),
    );
  });
});

const compare = (n: number | null, t: number): LadderResult =>
  n === null || n < t ? 'less' : n > t ? 'greater' : 'equal';

describe("a client's run of a search ladder", () => {
  it('with no lookup shown: asks what the log sends, places the greatest version (t, n in 0..100, and absent)', () => {
    const failures: string[] = [];
    for (let t = 0; t <= 100; t++)
      for (const n of [null, ...Array.from({ length: 101 }, (_, i) => i)]) {
        const asked: number[] = [];
        const run = runSearchLadder(t, (v) => {
          asked.push(v);
          return n !== null && v <= n;
        });
        const want = searchBinaryLadder(t, n);
        if (run.result !== compare(n, t) || !sameList(run.lookups, want) || !sameList(asked, want))
          failures.push(`t = ${t}, n = ${n}: ${JSON.stringify(run)}, want ${want}`);
      }
    expect(failures).toEqual([]);
    expect(searchBinaryLadder(5, null)).toEqual([0]);
    expect(binaryLadder(null)).toEqual([0]);
  });

  it('with random lookups shown to the left and right, as an honest log would show them', () => {
    const rand = prng(7);
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = Math.floor(rand() * 80);
      const n = rand() < 0.1 ? null : Math.floor(rand() * 80);
      // Versions included to the left are at most the least greatest version, absent to the right above the most.
      const leftMax = n === null ? -1 : Math.floor(rand() * (n + 1));
      const rightMin = (n ?? -1) + 1 + Math.floor(rand() * 8);
      const pool = [...new Set([...binaryLadder(n), ...binaryLadder(leftMax < 0 ? null : leftMax)])];
      const leftInclusion = pool.filter((v) => v <= leftMax && rand() < 0.6);
      const rightNonInclusion = pool.filter((v) => v >= rightMin && rand() < 0.6);
      const shown = { leftInclusion, rightNonInclusion };
      const run = runSearchLadder(t, (v) => n !== null && v <= n, shown);
      const want = searchBinaryLadder(t, n, shown);
      const ref =
        n === null
          ? null
          : nums(refSearch(BigInt(t), BigInt(n), leftInclusion.map(BigInt), rightNonInclusion.map(BigInt)));
      if (!sameList(run.lookups, want) || (ref !== null && !sameList(want, ref)) || run.result !== compare(n, t))
        failures.push(`t ${t} n ${n} shown ${JSON.stringify(shown)}: ${JSON.stringify(run)} want ${want}`);
    }
    expect(failures).toEqual([]);
  });

  it('against a log answering at random: always ends, within 65 lookups, each a uint32 asked once', () => {
    const rand = prng(99);
    for (let i = 0; i < 500; i++) {
      const t = Math.floor(rand() * 2 ** 32);
      const bias = rand();
      const run = runSearchLadder(t, () => rand() < bias);
      expect(run.lookups.length).toBeLessThanOrEqual(65);
      expect(new Set(run.lookups).size).toBe(run.lookups.length);
      expect(run.lookups.every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_VERSION)).toBe(true);
    }
  });
});

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('invalid arguments', () => {
  it('refuses versions that are not uint32, and a version shown both included and absent', () => {
    for (const v of [-1, 0.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        errorCode(() => binaryLadder(v)),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => searchBinaryLadder(v, 1)),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => searchBinaryLadder(1, v)),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => monitoringBinaryLadder(v)),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => runSearchLadder(v, () => true)),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => searchBinaryLadder(1, 1, { leftInclusion: [v] })),
        String(v),
      ).toBe('bad_version');
      expect(
        errorCode(() => runSearchLadder(1, () => true, { rightNonInclusion: [v] })),
        String(v),
      ).toBe('bad_version');
    }
    const both = { leftInclusion: [0, 1], rightNonInclusion: [3, 1] };
    expect(errorCode(() => searchBinaryLadder(2, 2, both))).toBe('contradictory_lookups');
    expect(errorCode(() => runSearchLadder(2, () => true, both))).toBe('contradictory_lookups');
  });
});
