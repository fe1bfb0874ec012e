/**
 * A witness over HTTP (C2SP tlog-witness v1.0.0): `POST /add-checkpoint` answered by a `Witness`
 * (verifier/witness/witness.ts) with its status, content type and body, bodies above 64 KiB refused with 400
 * before they are read whole (a body that cannot be read, malformed or cut off, is a JSON 400
 * `bad_request`), and `GET /` describing the witness (its name and key) for operators. Used by
 * `kt witness serve` and the tests. Any other route is a JSON 404.
 */
import { Hono } from 'hono';
import { MAX_ADD_CHECKPOINT_BYTES } from '../../verifier/formats/add-checkpoint.js';
import type { Witness } from '../../verifier/witness/witness.js';
import { boundedBody } from './body.js';
import { errorResponse } from './errors.js';

export function witnessApp(witness: Witness): Hono {
  const app = new Hono();
  app.post(
    '/add-checkpoint',
    boundedBody(MAX_ADD_CHECKPOINT_BYTES, (c) => c.text('the body exceeds 64 KiB\n', 400)),
    async (c) => {
      const res = await witness.addCheckpoint(new Uint8Array(await c.req.arrayBuffer()));
      return c.body(res.body, res.status, { 'Content-Type': res.contentType });
    },
  );
  app.get('/', (c) =>
    c.json({
      name: witness.opts.cosigner.name,
      key: witness.opts.cosigner.verifierKey,
      logs: witness.opts.logs.map((l) => l.origin),
    }),
  );
  app.notFound((c) => errorResponse('not_found', `no route for ${c.req.method} ${c.req.path}`));
  return app;
}
