/**
 * One explorer session: the kept pins, the directory's URL, and the verifying client over them
 * (verifier/client/client.ts) whose newest checkpoint is kept in this browser's localStorage, one key per
 * log (its origin and log key), so that a rollback or a fork is caught across visits. The page's operations
 * (a check, a discovery, the overview, a watched account's check) run one at a time (`exclusive`), each
 * with the rollback or fork the client reported during it, and the proof it read, its own.
 */
import { createClient, type KtClient } from '../../verifier/client/client.js';
import { localStorageStore } from '../../verifier/client/checkpoint-store.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';
import { openCheckpoint } from '../../verifier/formats/checkpoint.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import type { KeptPins } from './trust.js';
import { keyStringFingerprint } from './format.js';

export interface Session {
  kept: KeptPins;
  server: string;
  kt: KtClient;
  /** The rollback or fork reported during the operation running now, if any. */
  evidence?: CheckpointEvidence;
  /** The server's /v1/config as last read (advice only: never trusted over the pins). */
  config?: Record<string, unknown>;
  /** The end of the last operation queued (see `exclusive`). */
  last: Promise<unknown>;
}

/** What an operation gave, or the error it failed with and the rollback or fork reported during it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error; evidence?: CheckpointEvidence };

/** The localStorage key of state kept for a log: its origin and its log key's fingerprint. */
export function logStateKey(kind: 'state' | 'watch', pins: { origin: string; logKey: string }): string {
  return `kt-explorer/${kind}/${pins.origin}/${keyStringFingerprint(pins.logKey)}`;
}

/** Runs `op` once every operation queued before it has ended: one operation of the session at a time. */
export function exclusive<T>(session: Session, op: () => Promise<T>): Promise<Outcome<T>> {
  const run = session.last.then(async (): Promise<Outcome<T>> => {
    session.evidence = undefined;
    try {
      return { ok: true, value: await op() };
    } catch (e) {
      return { ok: false, error: e as Error, evidence: session.evidence };
    } finally {
      session.evidence = undefined;
    }
  });
  session.last = run;
  return run;
}

export function openSession(kept: KeptPins, server: string): Session {
  const session = { kept, server, last: Promise.resolve() } as Session;
  session.kt = createClient({
    pins: kept.pins,
    server,
    store: localStorageStore(logStateKey('state', kept.pins)),
    onEvidence: (e) => {
      session.evidence = e;
    },
  });
  return session;
}

/** The size of the tree this browser keeps for the session's log, if any (once the client has loaded it). */
export function keptSize(session: Session): number | undefined {
  const note = session.kt.checkpoint();
  if (note === undefined) return undefined;
  const { origin, logKey } = session.kept.pins;
  return openCheckpoint(note, origin, parseVerifierKey(logKey)).checkpoint.size;
}

/** The witness policy of the pins, as the check lines show it. */
export function policyOf(session: Session): { quorum: number; witnesses: string[]; maxAgeSeconds?: number } {
  const p = session.kept.pins;
  return {
    quorum: p.witnessQuorum,
    witnesses: [...new Set(p.witnesses.map((w) => w.split('+')[0]))],
    maxAgeSeconds: p.maxAgeSeconds,
  };
}
