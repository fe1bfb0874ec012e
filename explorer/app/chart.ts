/**
 * The epochs chart: the log's size over time, one point per epoch, drawn as inline SVG (no charting
 * library: a line, its points and four labels). For screen readers the chart is one image with a summary,
 * and the same numbers are in a table beside it.
 */
import { svg } from './dom.js';
import { count, isoTime } from './format.js';
import type { EpochPoint } from './directory-data.js';

const W = 640;
const H = 220;
const PAD = { left: 64, right: 16, top: 12, bottom: 36 };

function scale(v: number, min: number, max: number, from: number, to: number): number {
  return max === min ? (from + to) / 2 : from + ((v - min) / (max - min)) * (to - from);
}

export function epochsChart(epochs: EpochPoint[]): SVGElement {
  const times = epochs.map((e) => e.time);
  const sizes = epochs.map((e) => e.treeSize);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [s0, s1] = [Math.min(...sizes), Math.max(...sizes)];
  const x = (t: number) => scale(t, t0, t1, PAD.left, W - PAD.right).toFixed(1);
  const y = (s: number) => scale(s, s0, s1, H - PAD.bottom, PAD.top).toFixed(1);
  const first = epochs[0];
  const last = epochs[epochs.length - 1];
  return svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': `The log grew from ${count(first.treeSize)} entries at epoch ${first.epoch} to ${count(last.treeSize)} at epoch ${last.epoch}`,
    },
    svg('line', { class: 'axis', x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    svg('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    svg('polyline', { class: 'series', points: epochs.map((e) => `${x(e.time)},${y(e.treeSize)}`).join(' ') }),
    epochs.map((e) =>
      svg(
        'circle',
        { class: 'point', cx: x(e.time), cy: y(e.treeSize), r: 3 },
        svg('title', {}, `epoch ${e.epoch}: ${count(e.treeSize)} entries at ${isoTime(e.time)}`),
      ),
    ),
    svg('text', { class: 'label', x: PAD.left - 6, y: H - PAD.bottom, 'text-anchor': 'end' }, count(s0)),
    svg('text', { class: 'label', x: PAD.left - 6, y: PAD.top + 10, 'text-anchor': 'end' }, count(s1)),
    svg('text', { class: 'label', x: PAD.left, y: H - 10 }, isoTime(t0)),
    svg('text', { class: 'label', x: W - PAD.right, y: H - 10, 'text-anchor': 'end' }, isoTime(t1)),
  );
}
