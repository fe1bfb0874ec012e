/**
 * The client's view (verifier/keytrans/view.ts): the rightmost distinguished log entry of every tree of the five
 * scenarios is the one the oracle found; every entry's distinguished status is the one the draft's recursive
 * algorithm, run here over the whole tree, gives; reading a view update takes exactly the timestamps of the update
 * view, and the rightmost timestamp is held to `max_ahead` and `max_behind`.
 */
import { describe, expect, it } from 'vitest';
import { CombinedProofReader } from '../../../verifier/keytrans/combined-proof.js';
import { left, right, root, updateView } from '../../../verifier/keytrans/search-tree.js';
import { isDistinguished, readViewUpdate, rightmostDistinguished, ViewError } from '../../../verifier/keytrans/view.js';
import { vectorJson } from '../../helpers/vectors.js';

interface Step {
  position: number;
  timestamp: number;
  rightmost_distinguished: number;
}

/** The draft's algorithm as written ("Reasonable Monitoring Window"), over every entry of a tree. */
function distinguishedSet(size: number, ts: (p: number) => number, rmw: number): Set<number> {
  const out = new Set<number>();
  const visit = (x: number | null, lo: number, hi: number): void => {
    if (x === null || hi - lo < rmw) return;
    out.add(x);
    visit(left(x), lo, ts(x));
    visit(right(x, size), ts(x), hi);
  };
  visit(root(size), 0, ts(size - 1));
  return out;
}

const SCENARIOS = ['main', 'worked-example', 'auditing', 'management', 'expiry'];

describe("the KEYTRANS client's view", () => {
  it('finds the rightmost distinguished log entry the oracle found, in every tree of the scenarios', () => {
    let trees = 0;
    for (const name of SCENARIOS) {
      const scenario = vectorJson(`keytrans/scenarios/${name}.json`);
      const steps: Step[] = scenario.steps;
      const rmw = scenario.config.fields.reasonable_monitoring_window;
      const ts = (p: number) => steps[p].timestamp;
      for (const step of steps) {
        const size = step.position + 1;
        expect(rightmostDistinguished(size, ts, rmw), `${name} at ${size}`).toBe(step.rightmost_distinguished);
        const all = distinguishedSet(size, ts, rmw);
        for (let x = 0; x < size; x++)
          expect(isDistinguished(x, size, ts, rmw), `${name} ${x} of ${size}`).toBe(all.has(x));
        trees++;
      }
    }
    expect(trees).toBe(20 + 13 + 8 + 4 + 16);
  });

  it('agrees with the recursive algorithm on synthetic timestamps, whatever the window', () => {
    for (const gaps of [[1], [1, 100], [5000, 1, 1, 1, 20000], [0]]) {
      const ts = (p: number) => 1_000_000 + p * gaps[p % gaps.length];
      for (const rmw of [0, 1, 50, 3000, 10_000_000]) {
        for (let size = 1; size <= 70; size++) {
          const all = distinguishedSet(size, ts, rmw);
          for (let x = 0; x < size; x++) expect(isDistinguished(x, size, ts, rmw)).toBe(all.has(x));
          expect(rightmostDistinguished(size, ts, rmw)).toBe(all.size === 0 ? null : Math.max(...all));
        }
      }
    }
  });

  const proofWith = (timestamps: number[]) =>
    new CombinedProofReader({
      timestamps,
      prefixProofs: [],
      prefixRoots: timestamps.map(() => new Uint8Array(32)),
      inclusion: { elements: [] },
    });
  const bounds = { maxAhead: 5_000, maxBehind: 60_000 };

  it('reads exactly the update view, and holds the rightmost timestamp to the clock bounds', () => {
    const now = 1_000_000;
    const fresh = proofWith(updateView(0, 50).map((_, i) => now - 1000 + i));
    expect(readViewUpdate(fresh, 0, 50, now, bounds)).toEqual([31, 47, 49]);
    expect(fresh.finish().map((e) => e.position)).toEqual([31, 47, 49]);
    const ahead = proofWith(updateView(0, 50).map((_, i) => now + 5_001 + i));
    expect(() => readViewUpdate(ahead, 0, 50, now, bounds)).toThrow(ViewError);
    const behind = proofWith(updateView(0, 50).map(() => now - 60_001));
    expect(() => readViewUpdate(behind, 0, 50, now, bounds)).toThrow(/behind this clock/);
    const within = proofWith(updateView(0, 50).map(() => now - 60_000));
    expect(() => readViewUpdate(within, 0, 50, now, bounds)).not.toThrow();
  });
});
