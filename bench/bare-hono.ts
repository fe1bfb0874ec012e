/**
 * The peer of the HTTP lookup benchmark: a bare Hono route on the same server stack (@hono/node-server,
 * same Node), answering a small JSON body (`/bare`, the target's peer). For context, `/static/:p/:a`
 * answers the bytes of the file given as the first argument (a real lookup response), so that the bench
 * can show what a response of that size costs the HTTP stack alone. Started as its own process by
 * bench/http-bench.ts.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';

const app = new Hono();
app.get('/bare', (c) => c.json({ ok: true }));
const staticBody = process.argv[2] ? new Uint8Array(readFileSync(process.argv[2])) : new Uint8Array(0);
app.get('/static/:provider/:account', (c) => c.body(staticBody, 200, { 'Content-Type': 'application/json' }));
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
);
