/**
 * D1 in another process, for the Durable Object benchmark (bench/durable-object-bench.ts): Miniflare runs D1
 * inside the workerd process it measures, where D1's own memory (its SQLite pages, its isolate's heap) would be
 * counted as the object's, though on Cloudflare D1 is another service. `remoteIndex` is an `IndexDatabase`
 * (api/worker/d1-layout.ts) whose statements go, as JSON, through the service binding `D1_HOST` to
 * bench/workerd/index-host.ts, which runs them on the real D1 binding of that name in a second workerd.
 * Blobs travel as `{ "$b": base64 }` both ways and come back as ArrayBuffers, as D1 gives them.
 */
import type { IndexDatabase, IndexStatement } from '../../api/worker/d1-layout.js';

export interface SentStatement {
  sql: string;
  params: unknown[];
}

export type IndexRequest = { binding: string; op: 'first' | 'all' | 'run' | 'batch'; statements: SentStatement[] };

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;

/** A value as JSON: blobs tagged. */
export function encodeValue(v: unknown): unknown {
  if (v instanceof ArrayBuffer) return { $b: toBase64(new Uint8Array(v)) };
  if (ArrayBuffer.isView(v)) return { $b: toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  return v;
}

/** The JSON of `encodeValue`, back: tagged blobs as ArrayBuffers. */
export function decodeValue(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && '$b' in v) return fromBase64((v as { $b: string }).$b);
  return v;
}

export function decodeRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, decodeValue(v)])));
}

class RemoteStatement implements IndexStatement {
  constructor(
    readonly db: RemoteIndex,
    readonly sent: SentStatement,
  ) {}
  bind(...values: unknown[]): IndexStatement {
    return new RemoteStatement(this.db, { sql: this.sent.sql, params: values.map(encodeValue) });
  }
  async first<T>(): Promise<T | null> {
    return (await this.db.send('first', [this.sent])) as T | null;
  }
  async all<T>(): Promise<{ results: T[] }> {
    return (await this.db.send('all', [this.sent])) as { results: T[] };
  }
  run(): Promise<unknown> {
    return this.db.send('run', [this.sent]);
  }
}

class RemoteIndex implements IndexDatabase {
  constructor(
    private readonly host: Fetcher,
    private readonly binding: string,
  ) {}
  prepare(query: string): IndexStatement {
    return new RemoteStatement(this, { sql: query, params: [] });
  }
  async batch<T>(statements: IndexStatement[]): Promise<{ results: T[] }[]> {
    return (await this.send(
      'batch',
      statements.map((s) => (s as RemoteStatement).sent),
    )) as { results: T[] }[];
  }
  async send(op: IndexRequest['op'], statements: SentStatement[]): Promise<unknown> {
    const body = JSON.stringify({ binding: this.binding, op, statements } satisfies IndexRequest);
    const res = await this.host.fetch('http://index-host/', { method: 'POST', body });
    if (res.status !== 200) throw new Error(`D1 (${this.binding}, in the other process): ${await res.text()}`);
    const answer = (await res.json()) as unknown;
    if (op === 'first') return answer === null ? null : decodeRows([answer as Record<string, unknown>])[0];
    if (op === 'all') return { results: decodeRows((answer as { results: Record<string, unknown>[] }).results) };
    if (op === 'batch')
      return (answer as { results: Record<string, unknown>[] }[]).map((r) => ({ results: decodeRows(r.results) }));
    return answer;
  }
}

/** `env` with each D1 binding named in `bindings` replaced by the same database reached through `D1_HOST`. */
export function withRemoteIndexes<E extends object>(env: E, bindings: string[]): E {
  const host = (env as { D1_HOST?: Fetcher }).D1_HOST;
  if (!host) return env;
  const remote = Object.fromEntries(bindings.map((b) => [b, new RemoteIndex(host, b)]));
  return { ...env, ...remote };
}
