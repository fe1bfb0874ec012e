/**
 * The two servers of the browser tests (the client package's and the explorer's), each on 127.0.0.1 with a
 * free port, so that each is its own origin:
 * - a static server for the example web page (examples/web), the client bundle and the pins file;
 * - a proxy in front of the directory, through which the page reaches it, that passes requests on (bodies
 *   included), and on demand answers a lookup or history with a response it recorded earlier (a rollback)
 *   or with the real response's proof bytes altered (a forgery); its upstream can be switched to another
 *   directory (a fork).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Listening {
  url: string;
  close: () => Promise<void>;
}

async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    // A browser keeps its connections open: close them too, or close() would wait for the browser.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };

/** Serves `files` (URL path to file path, or to contents) and 404 for anything else. */
export function staticServer(files: Record<string, string | { contents: string }>): Promise<Listening> {
  return listen(
    createServer((req, res) => {
      const asked = new URL(req.url ?? '/', 'http://x').pathname;
      const path = asked === '/' ? '/index.html' : asked;
      const file = Object.hasOwn(files, path) ? files[path] : undefined;
      if (file === undefined) return void res.writeHead(404).end();
      const body = typeof file === 'string' ? readFileSync(file) : file.contents;
      res.writeHead(200, { 'Content-Type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' });
      res.end(body);
    }),
  );
}

export type ProxyMode = 'pass' | 'replay' | 'tamper';

export interface Proxy extends Listening {
  mode: ProxyMode;
  /** The directory's URL the proxy passes requests to (may be changed: a second directory, for a fork). */
  upstream: string;
  /** The first response recorded for each lookup path, replayed in mode 'replay'. */
  recorded: Map<string, { status: number; headers: Headers; body: Uint8Array }>;
  /** Alters a lookup's or a history's JSON in mode 'tamper'. */
  tamper: (proof: Record<string, any>) => void;
}

/** Forwards `req`; with `json`, asking for JSON whatever the client accepts (the proxy rewrites JSON only). */
async function forward(req: IncomingMessage, upstream: string, json: boolean): Promise<Response> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string' && !['host', 'connection', 'accept-encoding', 'content-length'].includes(k))
      headers.set(k, v);
  if (json) headers.set('accept', 'application/json');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks);
  return fetch(`${upstream}${req.url}`, { method: req.method, headers, body, redirect: 'manual' });
}

function send(res: ServerResponse, status: number, headers: Headers, body: Uint8Array): void {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => {
    if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
  });
  res.writeHead(status, out).end(body);
}

/**
 * A proxy to `upstream` (the directory's URL). Lookups and histories pass as JSON (their binary form's
 * tampering is test/verifier/formats/proof-binary.test.ts's), so that they can be recorded and altered.
 */
export async function directoryProxy(upstream: string): Promise<Proxy> {
  const proxy = {
    mode: 'pass' as ProxyMode,
    upstream,
    recorded: new Map(),
    tamper: () => undefined,
  } as unknown as Proxy;
  const server = createServer(async (req, res) => {
    const isLookup = req.method === 'GET' && /^\/v1\/(lookup|history)\//.test(req.url ?? '');
    const recorded = proxy.recorded.get(req.url ?? '');
    if (isLookup && proxy.mode === 'replay' && recorded)
      return send(res, recorded.status, recorded.headers, recorded.body);
    let answer: Response;
    try {
      answer = await forward(req, proxy.upstream, isLookup); // a directory that offers no binary lookups
    } catch {
      return void res.writeHead(502).end();
    }
    let body = new Uint8Array(await answer.arrayBuffer()); // tiles are binary: never decoded as text
    if (isLookup && !recorded)
      proxy.recorded.set(req.url ?? '', { status: answer.status, headers: answer.headers, body });
    if (isLookup && proxy.mode === 'tamper') {
      const proof = JSON.parse(new TextDecoder().decode(body));
      proxy.tamper(proof);
      body = new TextEncoder().encode(JSON.stringify(proof));
    }
    send(res, answer.status, answer.headers, body);
  });
  return Object.assign(proxy, await listen(server));
}
