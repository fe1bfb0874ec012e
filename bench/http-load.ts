/**
 * The load generator of the HTTP lookup benchmark, run as a process of its own so that the client's
 * heap and CPU are the same for the peer and for the directory (the benchmark process itself holds a
 * million-account build): `node --import tsx bench/http-load.ts <url> <paths.json> <connections>
 * <seconds> <warmup-seconds> [accept] [from]` runs autocannon over the paths (cycled, or each drawn at random
 * from a template: `Paths`), each request with that Accept header if given (an empty string: none), after a
 * warm-up run whose result is discarded, and prints one JSON line with requests/s, latency percentiles,
 * non-2xx and errors. `from`, a number n, opens the connections from n loopback addresses in turn
 * (127.0.0.2 on): the Node server hands each connection to a reader process by its client's address
 * (api/node/readers.ts), so that from one address every connection would go to the same reader.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [url, pathsFile, connections, seconds, warmup, accept, from] = process.argv.slice(2);
if (from) fromAddresses(Number(from));

/**
 * Makes the connections autocannon opens come from `n` loopback addresses in turn. autocannon has no option
 * for a local address: its client calls `net.connect(port, hostname)` on the module object it required, so
 * that call is replaced, before autocannon is loaded, by one that also names the local address.
 */
function fromAddresses(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error('from: 1 to 250 loopback addresses');
  const net = require('node:net') as typeof import('node:net');
  const connect = net.connect;
  let next = 0;
  const patched = (port: unknown, host: unknown): ReturnType<typeof connect> => {
    if (!Number.isInteger(Number(port)) || typeof host !== 'string') throw new Error('unexpected net.connect call');
    return connect({ port: Number(port), host, localAddress: `127.0.0.${2 + (next++ % n)}` });
  };
  net.connect = patched as typeof connect;
}

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}>;

/**
 * Paths cycled in order, or each request's path drawn at random: `template` with `{n}` a uniform integer
 * below `count`.
 */
export type Paths = string[] | { template: string; count: number };

const paths = JSON.parse(readFileSync(pathsFile, 'utf8')) as Paths;
const headers = accept ? { headers: { accept } } : {};
const requests = Array.isArray(paths)
  ? paths.map((path) => ({ method: 'GET', path, ...headers }))
  : [
      {
        method: 'GET',
        path: paths.template.replace('{n}', '0'),
        ...headers,
        // Called for every request (autocannon then builds its bytes anew): a fresh draw each time.
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          path: paths.template.replace('{n}', String(Math.floor(Math.random() * paths.count))),
        }),
      },
    ];
const run = (duration: number) => autocannon({ url, connections: Number(connections), duration, requests });

if (Number(warmup) > 0) await run(Number(warmup));
const r = await run(Number(seconds));
console.log(
  JSON.stringify({
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  }),
);
