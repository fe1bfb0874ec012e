/**
 * One explorer session: the kept pins, the directory's URL, and the verifying client over them
 * (verifier/client/client.ts) whose newest checkpoint is kept in this browser's localStorage, one key per
 * log, so that a rollback or a fork is caught across visits. The last rollback or fork the client reported
 * is held for the view to offer as an evidence file.
 */
import { createClient, type KtClient } from '../../verifier/client/client.js';
import { localStorageStore } from '../../verifier/client/checkpoint-store.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';
import { openCheckpoint } from '../../verifier/formats/checkpoint.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import type { KeptPins } from './trust.js';

export interface Session {
  kept: KeptPins;
  server: string;
  kt: KtClient;
  /** The rollback or fork reported during the last request, if any. */
  evidence?: CheckpointEvidence;
  /** The server's /v1/config as last read (advice only: never trusted over the pins). */
  config?: Record<string, unknown>;
}

export function openSession(kept: KeptPins, server: string): Session {
  const session = { kept, server } as Session;
  session.kt = createClient({
    pins: kept.pins,
    server,
    store: localStorageStore(`kt-explorer/state/${kept.pins.origin}`),
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
