/**
 * The servers' structured log: one JSON object per line, one line per event, `{"time","level","event",...}`
 * followed by the event's own fields (docs: README "Operations"). Pure: a logger takes the function that
 * writes a line (the Node server writes to standard error, the Worker to `console.log`, a test to an
 * array). Callers pass only fields that carry no secret and no account: route patterns, never paths; error
 * names, codes and messages of the server's own errors, never request headers or bodies.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type LogLevel = 'info' | 'warn' | 'error';

/** A field's value; undefined fields are left out of the line. */
export type LogValue = string | number | boolean | null | undefined;
export type LogFields = Record<string, LogValue>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** The longest message a line carries (an error message cut beyond this), so one line stays one line. */
const MAX_MESSAGE_CHARS = 1000;

/** A logger writing each event as one line of JSON through `write`, stamped with `now()` (ms since 1970). */
export function jsonLogger(write: (line: string) => void, now: () => number = Date.now): Logger {
  const log = (level: LogLevel, event: string, fields: LogFields = {}) => {
    const line: Record<string, LogValue> = { time: new Date(now()).toISOString(), level, event };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in line)) line[k] = v;
    try {
      write(JSON.stringify(line));
    } catch {
      // A log that cannot be written (a closed pipe) must not fail the request or the epoch it reports on.
    }
  };
  return {
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** The default where none is given: JSON lines on the console's error stream (Node: standard error). */
export const consoleLogger: Logger = jsonLogger((line) => console.error(line));

/** The fields of an error: its name, its code if it has one, and its message (cut to a bound). */
export function errorFields(err: unknown): LogFields {
  const e = err instanceof Error ? err : new Error(String(err));
  const own = (e as { code?: unknown }).code; // a CodedError's, or a platform error's (ENOENT, SQLITE_BUSY)
  const code = e instanceof CodedError ? e.code : typeof own === 'string' ? own : undefined;
  const message = e.message.length > MAX_MESSAGE_CHARS ? `${e.message.slice(0, MAX_MESSAGE_CHARS)}…` : e.message;
  return { error: e.name, code, message };
}
