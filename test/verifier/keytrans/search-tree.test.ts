/**
 * Tests for verifier/keytrans/search-tree.ts: every case of the tree-math vectors' `implicit_search_tree`,
 * `update_view` and `log_full_subtrees` sections; for every n up to 200 the tree rebuilt from the draft's inductive
 * definition (root 2^floor(log2 n) - 1, left subtree of size root, right subtree offset by root + 1), against which
 * root, left, right, parent, level, the direct paths and the frontier are checked, with the in-order walk giving
 * 0..n-1; the update view against an independent characterisation (the ancestors of m - 1 at or after m, and the
 * frontier at or after m, in order); large sizes up to 2^53 - 1; and every invalid argument refused with its code.
 */
import { describe, expect, it } from 'vitest';
import {
  directPath,
  frontier,
  fullSubtrees,
  left,
  level,
  parent,
  right,
  rightDirectPath,
  root,
  updateView,
} from '../../../verifier/keytrans/search-tree.js';
import { TreeMathError } from '../../../verifier/keytrans/tree-math-error.js';
import { errorCode } from '../../helpers/error-code.js';
import { prng } from '../../helpers/prng.js';
import { vectorJson } from '../../helpers/vectors.js';

interface ByN {
  n: number;
  root: number;
  frontier: number[];
  right: (number | null)[];
  parent: (number | null)[];
  right_direct_path?: number[][];
}
interface TreeMath {
  implicit_search_tree: { by_n: ByN[]; by_x: { x: number; level: number; left: number | null }[] };
  update_view: { n: number; by_m: number[][] }[];
  log_full_subtrees: { n: number; full_subtrees: [number, number][] }[];
}

const vectors = vectorJson<TreeMath>('keytrans/tree-math.json');

describe('tree-math.json: implicit_search_tree', () => {
  const { by_n, by_x } = vectors.implicit_search_tree;
  it('has the sizes and positions the README names', () => {
    expect(by_n.map((v) => v.n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(by_x.map((v) => v.x)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(by_n.filter((v) => v.right_direct_path).length).toBe(64);
  });
  it('by_n: root, frontier, right, parent and right direct path for n = 1..200', () => {
    for (const v of by_n) {
      expect(root(v.n), `root(${v.n})`).toBe(v.root);
      expect(frontier(v.n), `frontier(${v.n})`).toEqual(v.frontier);
      const xs = Array.from({ length: v.n }, (_, x) => x);
      expect(
        xs.map((x) => right(x, v.n)),
        `right(_, ${v.n})`,
      ).toEqual(v.right);
      expect(
        xs.map((x) => parent(x, v.n)),
        `parent(_, ${v.n})`,
      ).toEqual(v.parent);
      if (v.right_direct_path)
        expect(
          xs.map((x) => rightDirectPath(x, v.n)),
          `rightDirectPath(_, ${v.n})`,
        ).toEqual(v.right_direct_path);
    }
  });
  it('by_x: level and left for x < 256', () => {
    for (const v of by_x) {
      expect(level(v.x), `level(${v.x})`).toBe(v.level);
      expect(left(v.x), `left(${v.x})`).toBe(v.left);
    }
  });
});

describe('tree-math.json: update_view', () => {
  it('every n = 1..64 and every earlier size m (0 = none)', () => {
    expect(vectors.update_view.map((v) => v.n)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    for (const v of vectors.update_view) {
      expect(v.by_m.length).toBe(v.n + 1);
      v.by_m.forEach((want, m) => expect(updateView(m, v.n), `updateView(${m}, ${v.n})`).toEqual(want));
    }
  });
  it('includes the case of m - 1 on the new frontier (README deviation 3: m = 16, n = 19)', () => {
    expect(updateView(16, 19)).toEqual([17, 18]);
    expect(vectors.update_view[18].by_m[16]).toEqual([17, 18]);
  });
});

describe('tree-math.json: log_full_subtrees', () => {
  it('the full subtrees for n = 1..200 as [start, end)', () => {
    expect(vectors.log_full_subtrees.length).toBe(200);
    for (const v of vectors.log_full_subtrees)
      expect(
        fullSubtrees(v.n).map((r) => [r.start, r.end]),
        `fullSubtrees(${v.n})`,
      ).toEqual(v.full_subtrees);
  });
});

/** The tree of n entries built from the draft's inductive definition, as maps from a node to its relatives. */
interface Built {
  root: number;
  left: Map<number, number>;
  right: Map<number, number>;
  parent: Map<number, number>;
  level: Map<number, number>;
  inOrder: number[];
}

function build(n: number): Built {
  const t: Built = { root: -1, left: new Map(), right: new Map(), parent: new Map(), level: new Map(), inOrder: [] };
  const sub = (offset: number, size: number): { node: number; level: number } | null => {
    if (size === 0) return null;
    let p = 1;
    while (p * 2 <= size) p *= 2;
    const node = offset + p - 1;
    const l = sub(offset, p - 1);
    t.inOrder.push(node);
    const r = sub(node + 1, size - p);
    let lv = 0;
    for (const [child, map] of [
      [l, t.left],
      [r, t.right],
    ] as const) {
      if (child === null) continue;
      map.set(node, child.node);
      t.parent.set(child.node, node);
      lv = Math.max(lv, child.level + 1);
    }
    t.level.set(node, lv);
    return { node, level: lv };
  };
  t.root = sub(0, n)!.node;
  return t;
}

describe('the tree against its inductive definition, n = 1..200', () => {
  it('root, children, parents, levels, direct paths, frontier', () => {
    for (let n = 1; n <= 200; n++) {
      const t = build(n);
      expect(t.inOrder, `in-order walk of ${n}`).toEqual(Array.from({ length: n }, (_, x) => x));
      expect(root(n)).toBe(t.root);
      const wantFrontier = [t.root];
      while (t.right.has(wantFrontier.at(-1)!)) wantFrontier.push(t.right.get(wantFrontier.at(-1)!)!);
      expect(frontier(n)).toEqual(wantFrontier);
      expect(wantFrontier.at(-1)).toBe(n - 1);
      const xs = Array.from({ length: n }, (_, x) => x);
      const got = xs.map((x) => [
        left(x),
        right(x, n),
        parent(x, n),
        level(x),
        directPath(x, n),
        rightDirectPath(x, n),
      ]);
      const want = xs.map((x) => {
        const path: number[] = [];
        for (let q = t.parent.get(x); q !== undefined; q = t.parent.get(q)) path.push(q);
        const [l, r, p] = [t.left.get(x) ?? null, t.right.get(x) ?? null, t.parent.get(x) ?? null];
        return [l, r, p, t.level.get(x), path, path.filter((q) => q > x)];
      });
      expect(got, `the tree of ${n}`).toEqual(want);
      const back = xs
        .filter((x) => x !== t.root)
        .filter((x) => {
          const p = parent(x, n)!;
          return left(p) !== x && right(p, n) !== x;
        });
      expect(back, `parents whose children are not the node, n = ${n}`).toEqual([]);
    }
  });

  it('the update view: the ancestors of m - 1 at or after m, then the frontier at or after m', () => {
    for (let n = 1; n <= 200; n++) {
      const t = build(n);
      const onFrontier = new Set(frontier(n));
      const got: number[][] = [];
      const want: number[][] = [];
      for (let m = 1; m <= n; m++) {
        const entries = new Set<number>();
        for (let q = t.parent.get(m - 1); q !== undefined; q = t.parent.get(q)) if (q >= m) entries.add(q);
        for (const f of onFrontier) if (f >= m) entries.add(f);
        got.push(updateView(m, n));
        want.push([...entries].sort((a, b) => a - b));
      }
      expect(got, `updateView(m, ${n}) for m = 1..${n}`).toEqual(want);
      expect(got.slice(0, -1).every((v) => v.at(-1) === n - 1)).toBe(true);
      expect(updateView(0, n)).toEqual(frontier(n));
    }
  });

  it('the full subtrees: consecutive powers of two, decreasing, covering 0..n-1', () => {
    for (let n = 1; n <= 200; n++) {
      const ranges = fullSubtrees(n);
      let start = 0;
      let prev = Infinity;
      for (const r of ranges) {
        const size = r.end - r.start;
        expect(r.start).toBe(start);
        expect(Number.isInteger(Math.log2(size)) && size < prev).toBe(true);
        start = r.end;
        prev = size;
      }
      expect(start).toBe(n);
    }
  });
});

describe('large sizes, up to 2^53 - 1', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  it('the root, the frontier and the last entry of the largest tree', () => {
    expect(root(MAX)).toBe(2 ** 52 - 1);
    expect(root(2 ** 32)).toBe(2 ** 32 - 1);
    expect(root(2 ** 32 - 1)).toBe(2 ** 31 - 1);
    const f = frontier(MAX);
    expect(f.length).toBe(53);
    expect(f.at(-1)).toBe(MAX - 1);
    expect(parent(MAX - 1, MAX)).toBe(f.at(-2));
    expect(level(MAX)).toBe(53);
    expect(updateView(MAX, MAX)).toEqual([]);
    expect(updateView(1, MAX)).toEqual([...directPath(0, MAX), ...f.slice(1)]);
    expect(fullSubtrees(MAX).length).toBe(53);
    expect(fullSubtrees(MAX).at(-1)).toEqual({ start: MAX - 1, end: MAX });
  });
  it('random positions in random large trees: parent and child agree, paths end at the root', () => {
    const rand = prng(20260705);
    const failures: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = 1 + Math.floor(rand() * 2 ** (1 + Math.floor(rand() * 53)));
      const x = Math.floor(rand() * n);
      const [p, path, r] = [parent(x, n), directPath(x, n), right(x, n)];
      const view = updateView(Math.min(x + 1, n), n);
      const ok =
        (p === null
          ? x === root(n) && path.length === 0
          : (left(p) === x || right(p, n) === x) && path[0] === p && path.at(-1) === root(n) && level(p) > level(x)) &&
        (r === null || parent(r, n) === x) &&
        view.every((v, j) => v > x && v < n && (j === 0 || v > view[j - 1]));
      if (!ok) failures.push(`x = ${x}, n = ${n}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('invalid arguments', () => {
  it('refuses sizes below 1 and positions out of range', () => {
    for (const f of [() => root(0), () => frontier(0), () => fullSubtrees(0), () => updateView(0, 0)])
      expect(errorCode(f)).toBe('bad_size');
    for (const n of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY])
      expect(
        errorCode(() => root(n)),
        String(n),
      ).toBe('bad_size');
    expect(errorCode(() => updateView(5, 4))).toBe('bad_size');
    expect(errorCode(() => updateView(-1, 4))).toBe('bad_size');
    for (const f of [
      () => right(4, 4),
      () => parent(4, 4),
      () => directPath(7, 4),
      () => rightDirectPath(-1, 4),
      () => level(-1),
      () => left(0.5),
      () => level(2 ** 53),
    ])
      expect(errorCode(f)).toBe('bad_position');
    expect(() => root(0)).toThrow(TreeMathError);
  });
});
