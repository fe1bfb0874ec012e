/**
 * Context for the Durable Object's working set (durable-object-bench.ts): how much resident memory workerd
 * keeps after garbage alone. A Worker that does nothing but allocate Uint8Arrays and drop them as it goes
 * (1,000 alive at a time, as a request's garbage is) answers 20 requests of 200,000 allocations each, in a
 * workerd of its own; the figure is workerd's anonymous resident memory then, minus after its first request,
 * and again 5 s later. Arrays of up to 64 bytes V8 allocates in its heap, larger ones outside it.
 */
import { Miniflare } from 'miniflare';
import type { Figure } from './harness.js';
import { workerdMemory } from './durable-object-bench.js';

const GARBAGE_WORKER = `export default {
  async fetch(request) {
    const u = new URL(request.url);
    const n = Number(u.searchParams.get('n'));
    const size = Number(u.searchParams.get('size'));
    let live = [];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const a = new Uint8Array(size);
      a[0] = i;
      sum += a[0];
      live.push(a);
      if (live.length === 1000) live = [];
    }
    return new Response(String(sum));
  },
};`;

const MiB = 2 ** 20;

/** Anonymous resident memory workerd keeps after 4M arrays of `size` bytes were made and dropped, in bytes. */
async function keptAfterGarbage(size: number): Promise<{ after: number; later: number }> {
  const mf = new Miniflare({ modules: true, script: GARBAGE_WORKER, compatibilityDate: '2026-04-26' });
  try {
    await mf.ready;
    const ask = (n: number) => mf.dispatchFetch(`http://garbage/?n=${n}&size=${size}`).then((r) => r.text());
    await ask(10);
    const base = workerdMemory().anon;
    for (let i = 0; i < 20; i++) await ask(200_000);
    const after = workerdMemory().anon - base;
    await new Promise((r) => setTimeout(r, 5_000));
    return { after, later: workerdMemory().anon - base };
  } finally {
    await mf.dispose();
  }
}

export async function benchDurableGarbage(): Promise<Figure> {
  const small = await keptAfterGarbage(100);
  const onHeap = await keptAfterGarbage(64);
  const large = await keptAfterGarbage(1_000);
  const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
  return {
    id: 'durable_object_garbage',
    name: "workerd's resident memory after garbage alone (4M arrays of 100 bytes made and dropped by a Worker doing nothing else; context for the Durable Object's working set)",
    value: small.after / MiB,
    unit: 'MiB',
    target: 'reported',
    pass: true,
    note: `${mib(small.later)} 5 s later; arrays of 64 bytes (in V8's heap) ${mib(onHeap.after)}, of 1,000 bytes ${mib(large.after)}`,
  };
}
