/**
 * The peer of the HTTP lookup benchmark: a bare Hono route on the same server stack (@hono/node-server,
 * same Node), answering a small JSON body. Started as its own process by bench/http-bench.ts.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/bare', (c) => c.json({ ok: true }));
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => console.log(`listening on http://127.0.0.1:${info.port}`));
