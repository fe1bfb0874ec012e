/**
 * The Node server's HTTP limits, read from `config.json` beside the settings both servers share (on the
 * Worker, Cloudflare's edge holds connections): `headersTimeoutMs`, how long a client may take to send a
 * request's headers (default 10 s); `requestTimeoutMs`, the whole request, body included (default 30 s,
 * enough for the largest body, 2 MiB, at 70 KB/s); `keepAliveTimeoutMs`, how long an idle connection is
 * kept open between requests (default 5 s); and `maxConnections`, the connections served at once (default
 * 1,000), beyond which a new connection is closed at once while the others are served. A client too slow
 * is answered 408 and its connection closed (api/node/client-errors.ts), never counted as a 5xx; a body
 * cut off inside a route is a 400 (api/app/body.ts). So a client holding half-sent requests holds at most
 * `maxConnections` of them, each for at most `requestTimeoutMs`.
 */
import type { Server, ServerOptions } from 'node:http';
import { ConfigError } from '../wiring/settings.js';

/** The keys of config.json these settings take. */
export const HTTP_LIMIT_NAMES = [
  'headersTimeoutMs',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
  'maxConnections',
] as const;

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
};

/** Each limit's bounds: timeouts of 100 ms to an hour, 1 to 1,000,000 connections. */
const BOUNDS: Record<keyof HttpLimits, [number, number]> = {
  headersTimeoutMs: [100, 3_600_000],
  requestTimeoutMs: [100, 3_600_000],
  keepAliveTimeoutMs: [100, 3_600_000],
  maxConnections: [1, 1_000_000],
};

/** The HTTP limits of a parsed config.json (`file` names it in errors); unset ones take their default. */
export function httpLimits(config: Record<string, unknown>, file: string): HttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS };
  for (const key of HTTP_LIMIT_NAMES) {
    const value = config[key];
    if (value === undefined) continue;
    const [min, max] = BOUNDS[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
      throw new ConfigError(`${file}: "${key}" must be an integer from ${min} to ${max}`);
    limits[key] = value;
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new ConfigError(`${file}: "headersTimeoutMs" must not be above "requestTimeoutMs"`);
  return limits;
}

/**
 * The options of Node's HTTP server for `limits`: its timeouts, checked often enough for them to hold
 * (Node checks every 30 s by default; here at most every second, and at least twice per headers timeout).
 */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.floor(limits.headersTimeoutMs / 2)),
  };
}

/** Caps the connections `server` serves at once: Node closes any beyond `maxConnections` as it accepts it. */
export function capConnections(server: Server, limits: HttpLimits): void {
  server.maxConnections = limits.maxConnections;
}
