/**
 * The directory the hostile tests attack, in process: a test directory (test/helpers/directory.ts) with an
 * enrolled provider and a published account, served by the app as the servers wire it, with rate limits so
 * generous that no refusal of theirs masks another answer. Also the settings that do so, for the Node server's
 * config.json, and a client address per request (the limits and the failed-authentication bucket are kept
 * per address), as @hono/node-server hands it to the app beside the raw request target.
 */
import type { Hono } from 'hono';
import { jsonLogger } from '../../api/app/logger.js';
import { serverApp } from '../../api/wiring/open-server.js';
import { DEFAULT_SETTINGS, type Settings } from '../../api/wiring/settings.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  TEST_OPERATOR_TOKEN,
  type TestDirectory,
  type TestProvider,
} from '../helpers/directory.js';
import type { CorpusTarget } from './fuzz-corpus.js';

/** The default settings with every burst and rate (lookups, publications) raised far beyond any test's use. */
export function generousSettings(): Settings {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const [name, value] of Object.entries(settings))
    if (typeof value === 'number' && /Burst$|PerSecond$/.test(name)) settings[name] = 1_000_000;
  return settings as Settings;
}

/** The app over `t`, wired as the servers wire it, with generous limits; its errors' log lines go to `logError`. */
export function hostileApp(t: TestDirectory, logError: (line: string) => void): Hono {
  const errorsOnly = (line: string) => {
    if ((JSON.parse(line) as { level?: string }).level === 'error') logError(line);
  };
  return serverApp({
    reader: new LogReader(new SqliteLogStorage(t.db), () => t.log.head),
    signer: logSignerForTests,
    directory: t.dir,
    keytrans: t.keytrans,
    operatorToken: TEST_OPERATOR_TOKEN,
    settings: generousSettings(),
    logger: jsonLogger(errorsOnly), // one JSON line per event (api/app/logger.ts)
  }).app;
}

export interface AttackedDirectory {
  t: TestDirectory;
  chat: TestProvider;
  app: Hono;
  target: CorpusTarget;
  /** Every internal error the app reported. */
  internalErrors: string[];
}

/** A directory with provider chat.example and alice@chat.example at version 1, and its app. */
export async function attackedDirectory(): Promise<AttackedDirectory> {
  const t = await openTestDirectory({ maxQueue: 1000, keytrans: true });
  const chat = await enrolProvider(t, 'chat.example');
  const signed = chat.sign(statementFor(chat, 'alice@chat.example', 1, [identityKey()], t.clock.now));
  await publish(t, signed);
  const internalErrors: string[] = [];
  const app = hostileApp(t, (line) => internalErrors.push(line));
  const target = {
    provider: 'chat.example',
    account: 'alice@chat.example',
    operatorToken: TEST_OPERATOR_TOKEN,
    signed,
  };
  return { t, chat, app, target, internalErrors };
}

/** What @hono/node-server hands the app for a request from `address` with the raw `target`. */
export function nodeEnv(
  target: string,
  address: string,
): { incoming: { url: string; socket: { remoteAddress: string } } } {
  return { incoming: { url: target, socket: { remoteAddress: address } } };
}

/** The `n`th of 2^24 distinct IPv4 client addresses (10.0.0.0/8). */
export function clientAddress(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
