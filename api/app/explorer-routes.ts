/**
 * The explorer page (explorer/, built to dist/explorer/) served at `/` with its script and style sheet,
 * from files the platform reads (`ExplorerAssets`: the Node server reads them from disk at start, the
 * Worker from its static assets binding). Every answer carries a strict Content-Security-Policy: scripts,
 * styles and connections to this origin only, no inline code, no frames, no forms posted anywhere, no
 * base URL, and Trusted Types with no policy, so that no string can ever become markup or script in the page;
 * the page needs nothing else. `Cache-Control: no-cache` with an ETag: a browser revalidates, so
 * a new release is seen at once and an unchanged page costs a 304.
 */
import type { Hono } from 'hono';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { errorResponse } from './errors.js';

/** The explorer's files, by name; undefined for one the platform does not have (a build without the page). */
export interface ExplorerAssets {
  read(name: ExplorerFile): Promise<Uint8Array | undefined>;
}

export type ExplorerFile = 'index.html' | 'explorer.js' | 'explorer.css';

export const EXPLORER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

const TYPES: Record<ExplorerFile, string> = {
  'index.html': 'text/html; charset=utf-8',
  'explorer.js': 'text/javascript; charset=utf-8',
  'explorer.css': 'text/css; charset=utf-8',
};

/** The security headers of every explorer answer. */
export const EXPLORER_HEADERS = {
  'Content-Security-Policy': EXPLORER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The explorer's file at each path (Hono's routes here, the Worker's isolate: api/worker/explorer-assets.ts). */
export const EXPLORER_PATHS: ReadonlyMap<string, ExplorerFile> = new Map([
  ['/', 'index.html'],
  ['/explorer.js', 'explorer.js'],
  ['/explorer.css', 'explorer.css'],
]);

/**
 * Serves `name` with its type, the security headers and an ETag (its SHA-256, kept in `etags`), or 304 when
 * it matches; a 404 when the platform does not have it. Shared with the Worker, which serves the page itself.
 */
export async function explorerResponse(
  assets: ExplorerAssets,
  name: ExplorerFile,
  ifNoneMatch: string | undefined,
  etags: Map<string, string>,
): Promise<Response> {
  const body = await assets.read(name);
  if (body === undefined)
    return errorResponse('not_found', 'the explorer page is not built in this installation (npm run build)');
  const bytes = new Uint8Array(body);
  let etag = etags.get(name);
  if (etag === undefined || etags.get(`${name}:size`) !== String(bytes.length)) {
    etag = `"${toHex(sha256(bytes)).slice(0, 32)}"`;
    etags.set(name, etag).set(`${name}:size`, String(bytes.length));
  }
  const headers = { ...EXPLORER_HEADERS, 'Content-Type': TYPES[name], 'Cache-Control': 'no-cache', ETag: etag };
  if (ifNoneMatch === etag) return new Response(null, { status: 304, headers });
  return new Response(bytes, { headers });
}

/** Registers `GET /` (the page), `/explorer.js` and `/explorer.css`. */
export function explorerRoutes(app: Hono, assets: ExplorerAssets): void {
  const etags = new Map<string, string>();
  for (const [path, name] of EXPLORER_PATHS)
    app.get(path, (c) => explorerResponse(assets, name, c.req.header('If-None-Match'), etags));
}
