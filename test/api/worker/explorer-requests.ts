/**
 * The explorer page's requests (api/app/explorer-routes.ts) that the Worker must answer as the Node server
 * does, and how an answer is recorded to compare them: its status, its headers but those of the transport
 * (date, length, connection) and the request id (each server's own), and its body's SHA-256. The Node
 * server's answers are recorded by test/fixtures/worker-directory.ts and replayed against the Worker by
 * test/api/worker/directory-explorer.worker.ts.
 */
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';

/** One request: its method, path, and whether it revalidates with the ETag of that path's GET. */
export interface ExplorerRequest {
  method: 'GET' | 'HEAD' | 'POST';
  path: string;
  revalidate?: boolean;
}

export const EXPLORER_REQUESTS: ExplorerRequest[] = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/explorer.js' },
  { method: 'GET', path: '/explorer.css' },
  { method: 'GET', path: '/?epoch=1' },
  { method: 'HEAD', path: '/' },
  { method: 'HEAD', path: '/explorer.js' },
  { method: 'GET', path: '/', revalidate: true },
  { method: 'GET', path: '/explorer.js', revalidate: true },
  { method: 'GET', path: '/explorer.css', revalidate: true },
  { method: 'GET', path: '/explorer.js/' },
  { method: 'GET', path: '/index.html' },
  { method: 'GET', path: '/explorer' },
  { method: 'POST', path: '/' },
];

/** One recorded answer. */
export interface ExplorerAnswer {
  status: number;
  headers: Record<string, string>;
  bodySha256: string;
  bodyLength: number;
  hasRequestId: boolean;
}

const TRANSPORT = new Set(['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'x-request-id']);

/** The answers to EXPLORER_REQUESTS through `fetch` (a path and init to a Response), keyed by `key(r)`. */
export async function recordExplorer(
  fetch: (path: string, init: RequestInit) => Promise<Response>,
): Promise<Record<string, ExplorerAnswer>> {
  const out: Record<string, ExplorerAnswer> = {};
  for (const r of EXPLORER_REQUESTS) {
    const headers: Record<string, string> = {};
    if (r.revalidate) headers['If-None-Match'] = out[key({ method: 'GET', path: r.path })]!.headers.etag!;
    const res = await fetch(r.path, { method: r.method, headers });
    const body = new Uint8Array(await res.arrayBuffer());
    const kept: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (!TRANSPORT.has(name)) kept[name] = value;
    });
    out[key(r)] = {
      status: res.status,
      headers: kept,
      bodySha256: toHex(sha256(body)),
      bodyLength: body.length,
      hasRequestId: res.headers.has('x-request-id'),
    };
  }
  return out;
}

/** The recording's key of a request. */
export function key(r: ExplorerRequest): string {
  return `${r.method} ${r.path}${r.revalidate ? ' (If-None-Match)' : ''}`;
}
