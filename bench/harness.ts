/**
 * A small benchmark harness: runs a function repeatedly for a minimum time per round, takes the median
 * of several rounds, and collects figures in the shape `npm run bench` prints and writes to
 * bench/results.json (each figure with its target and, where DESIGN.md names one, the peer measured in
 * the same run).
 */

export interface Figure {
  id: string;
  name: string;
  value: number;
  unit: string;
  /** Human-readable target from DESIGN.md. */
  target: string;
  pass: boolean;
  peer?: { name: string; value: number; unit: string };
  note?: string;
}

/** The nearest-rank `p`th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Median of the numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Operations per second of `run`, which performs `opsPerCall` operations per call: each round calls it
 * until `minMs` have passed; the median round is returned. One untimed warm-up round runs first.
 */
export function opsPerSecond(
  run: () => void,
  opsPerCall: number,
  opts: { rounds?: number; minMs?: number } = {},
): number {
  const rounds = opts.rounds ?? 5;
  const minMs = opts.minMs ?? 300;
  const rates: number[] = [];
  for (let r = -1; r < rounds; r++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      run();
      calls++;
      elapsed = performance.now() - start;
    } while (elapsed < minMs);
    if (r >= 0) rates.push((calls * opsPerCall * 1000) / elapsed);
  }
  return median(rates);
}

/**
 * Wall time in milliseconds of `run`, median of `rounds` runs; each gets fresh state from `setup`, and
 * `teardown` (untimed) cleans up after it.
 */
export async function medianMs<S>(
  setup: () => Promise<S> | S,
  run: (s: S) => Promise<void> | void,
  teardown: (s: S) => Promise<void> | void = () => {},
  rounds = 3,
): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = await setup();
    const start = performance.now();
    await run(s);
    times.push(performance.now() - start);
    await teardown(s);
  }
  return median(times);
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** One line per figure: value, target, verdict, peer. */
export function formatFigure(f: Figure): string {
  const peer = f.peer ? `; peer ${f.peer.name}: ${fmt.format(f.peer.value)} ${f.peer.unit}` : '';
  const note = f.note ? ` (${f.note})` : '';
  return `${f.pass ? 'PASS' : 'FAIL'}  ${f.name}: ${fmt.format(f.value)} ${f.unit}  [target ${f.target}${peer}]${note}`;
}
