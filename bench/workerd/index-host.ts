/**
 * The second workerd of the Durable Object benchmark with `--object-storage edge`: it holds the D1 databases
 * and runs, on the binding named, the statements bench/workerd/remote-index.ts sends it, answering as D1
 * answered (blobs tagged for JSON). Never deployed.
 */
import { decodeValue, encodeValue, type IndexRequest } from './remote-index.js';

type Row = Record<string, unknown>;
const encodeRow = (r: Row) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, encodeValue(v)]));
const encodeResults = (r: { results: Row[] }) => ({ results: r.results.map(encodeRow) });

export default {
  async fetch(request: Request, env: Record<string, D1Database>): Promise<Response> {
    const { binding, op, statements } = (await request.json()) as IndexRequest;
    const db = env[binding];
    if (!db) return new Response(`no D1 binding ${binding}`, { status: 500 });
    const prepared = statements.map((s) => db.prepare(s.sql).bind(...s.params.map(decodeValue)));
    try {
      if (op === 'batch') return Response.json((await db.batch<Row>(prepared)).map(encodeResults));
      if (op === 'all') return Response.json(encodeResults(await prepared[0].all<Row>()));
      if (op === 'first') {
        const row = await prepared[0].first<Row>();
        return Response.json(row === null ? null : encodeRow(row));
      }
      await prepared[0].run();
      return Response.json({});
    } catch (e) {
      return new Response(`${(e as Error).message}`, { status: 500 });
    }
  },
};
