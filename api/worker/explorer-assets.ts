/**
 * The explorer page on the Worker: `GET` and `HEAD` of `/`, `/explorer.js` and `/explorer.css` are answered
 * by the isolate, without waking the Durable Object, from the Workers Static Assets binding `ASSETS`
 * (wrangler.toml's `[assets]`, the built `dist/explorer/`, with `run_worker_first` so that Cloudflare never
 * serves a file without these headers), by the same code as the Node server's routes
 * (api/app/explorer-routes.ts): the same strict Content-Security-Policy and headers, ETag and 304. The paths
 * are read as Hono reads them, and a HEAD is the GET's answer without its body, as Hono answers it. A Worker
 * deployed without the binding answers these paths 404, as a Node server without the built page does; a
 * log-only Worker (`KT_LOG_ONLY`) has no page, and its object answers them 404 as a log-only Node server does.
 */
import { getPath } from 'hono/utils/url';
import { EXPLORER_PATHS, explorerResponse, type ExplorerAssets } from '../app/explorer-routes.js';

/** The explorer's files from the static assets binding (none without it), each read by its exact name. */
function assetsOf(binding: Fetcher | undefined): ExplorerAssets {
  return {
    async read(name) {
      if (!binding) return undefined;
      const res = await binding.fetch(`https://assets.invalid/${name}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`the static assets binding answered ${name} with ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** The files' ETags, computed once per isolate (per size of each file: api/app/explorer-routes.ts). */
const etags = new Map<string, string>();

/**
 * The answer to `request` if it reads the explorer, and the route it is counted under (the app's pattern);
 * null for any other request.
 */
export async function serveExplorer(
  binding: Fetcher | undefined,
  request: Request,
): Promise<{ response: Response; route: string } | null> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  const path = getPath(request);
  const name = EXPLORER_PATHS.get(path);
  if (name === undefined) return null;
  const res = await explorerResponse(assetsOf(binding), name, request.headers.get('If-None-Match') ?? undefined, etags);
  return { response: request.method === 'HEAD' ? new Response(null, res) : res, route: path };
}
