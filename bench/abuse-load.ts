/**
 * The load generator of the abuse benchmark (bench/abuse-bench.ts), run as a process of its own so that
 * neither the server nor the benchmark's own publisher shares its event loop:
 * `node --import tsx bench/abuse-load.ts <role> <url> <seconds> <json options>` prints one JSON line.
 * - `honest` (options `{ from, accounts, perSecond }`): GET lookups of known names from one address, one at
 *   a time at `perSecond` (within its allowance); the latencies' p50 and p99 and the statuses.
 * - `hostile` (options `{ addresses, batch, inFlight }`): from each address, `inFlight` loops of POST batches
 *   of `batch` names nobody has, back to back; after a refusal (429 or 503) a loop waits as its
 *   `Retry-After` says and tries again, so that each client spends its whole allowance, as a client at its
 *   allowance does, without a flood of refused requests. The statuses, and the unknown names answered.
 * - `absent` (options `{ loops, batch }`): `loops` concurrent loops of POST batches of unknown names from
 *   127.0.0.1 (a server whose limits are raised); unknown names answered per second, counted until the
 *   last answer.
 * Answers are counted, not parsed (the server's proofs are checked by the tests).
 */
import { Agent, request } from 'node:http';
import { percentile } from './harness.js';

interface Answer {
  status: number;
  ms: number;
  /** The Retry-After of a refusal, in seconds. */
  retryAfter: number;
}

/** One request on `agent` (a keep-alive connection pool bound to one local address). */
function send(agent: Agent, url: string, method: string, body?: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Type': 'application/json' } : undefined;
    const req = request(url, { method, agent, headers }, (res) => {
      res.on('data', () => undefined);
      const retryAfter = Number(res.headers['retry-after'] ?? 0);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, retryAfter }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function count(statuses: Map<number, number>, status: number): void {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

async function honest(url: string, until: number, o: { from: string; accounts: string[]; perSecond: number }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: o.from });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; performance.now() < until; i++) {
    const next = performance.now() + 1000 / o.perSecond;
    const account = o.accounts[i % o.accounts.length];
    const a = await send(agent, `${url}/v1/lookup/chat.example/${encodeURIComponent(account)}`, 'GET');
    latencies.push(a.ms);
    count(statuses, a.status);
    await sleep(Math.max(0, next - performance.now()));
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length, statuses };
}

/**
 * Batches of `batch` names no one has, as fast as the server answers, from `from`, `inFlight` at a time;
 * after a refusal a loop waits as long as its Retry-After says (at most until the end).
 */
async function batches(url: string, until: number, from: string, batch: number, inFlight: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight, localAddress: from });
  const statuses = new Map<number, number>();
  let answered = 0;
  let n = 0;
  const loop = async () => {
    while (performance.now() < until) {
      const lookups = Array.from({ length: batch }, () => ({
        provider: 'chat.example',
        account: `x${from}.${n++}@chat.example`,
      }));
      const a = await send(agent, `${url}/v1/lookup`, 'POST', JSON.stringify({ lookups }));
      count(statuses, a.status);
      if (a.status === 200) answered += batch;
      else await sleep(Math.min(1000 * a.retryAfter, until - performance.now()));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  agent.destroy();
  return { statuses, answered };
}

async function hostile(url: string, until: number, o: { addresses: string[]; batch: number; inFlight: number }) {
  const each = await Promise.all(o.addresses.map((from) => batches(url, until, from, o.batch, o.inFlight)));
  const statuses = new Map<number, number>();
  for (const e of each) for (const [s, c] of e.statuses) statuses.set(s, (statuses.get(s) ?? 0) + c);
  return { statuses, answered: each.reduce((a, e) => a + e.answered, 0) };
}

/** Unknown names answered per second, over the time until the last answer (requests begun before `until`). */
async function absent(url: string, until: number, o: { loops: number; batch: number }) {
  const started = performance.now();
  const r = await batches(url, until, '127.0.0.1', o.batch, o.loops);
  return { perSecond: (1000 * r.answered) / (performance.now() - started), statuses: r.statuses };
}

const [role, url, secondsText, optionsText] = process.argv.slice(2);
const seconds = Number(secondsText);
const options = JSON.parse(optionsText);
const until = performance.now() + seconds * 1000;
const result =
  role === 'honest'
    ? await honest(url, until, options)
    : role === 'hostile'
      ? await hostile(url, until, options)
      : await absent(url, until, options);
console.log(JSON.stringify(result, (_, v) => (v instanceof Map ? Object.fromEntries(v) : v)));
