/**
 * The malicious server of the attack suite and the parties that face it: `serverOf` serves a real test
 * directory (the app, as the servers wire it), which attacks wrap and tamper with; `fakeLog` serves a log
 * of chosen entries with a checkpoint signed by the real log key (an operator gone bad); `parties` builds
 * the client, with an optional witness policy, and the auditor, pinned to the test log.
 */
import { type NoteSigner, parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { Auditor, type AuditorOptions } from '../../verifier/auditor/auditor.js';
import { CheckpointVerifier, type WitnessPolicy } from '../../verifier/verification/checkpoint-policy.js';
import { signCheckpoint } from '../../verifier/formats/checkpoint.js';
import { LookupClient } from '../../verifier/lookup-client/lookup-client.js';
import { decodeEntryBundle, encodeEntryBundle, entryBundlePath, TILE_WIDTH } from '../../verifier/formats/tiles.js';
import { recordHash, rootFromLeafHashes } from '../../verifier/formats/tlog.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { appOver, logSignerForTests, type TestDirectory } from '../helpers/directory.js';
import { ORIGIN } from '../helpers/log.js';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * The honest server of a test directory, answering JSON whatever the client accepts (as a server that does
 * not offer the binary lookup proof): the attacks here rewrite JSON. The binary form's tampering is
 * test/verifier/formats/proof-binary.test.ts's.
 */
export function serverOf(t: TestDirectory): Fetch {
  const app = appOver(t);
  return async (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Accept', 'application/json');
    return app.request(url, { ...init, headers });
  };
}

/** Every entry of a test directory's log. */
export async function entriesOf(t: TestDirectory): Promise<Uint8Array[]> {
  const reader = new LogReader(new SqliteLogStorage(t.db), () => t.log.head);
  const out: Uint8Array[] = [];
  for (let n = 0; n * TILE_WIDTH < t.log.head.size; n++)
    out.push(
      ...decodeEntryBundle((await reader.entryBundle(n, Math.min(TILE_WIDTH, t.log.head.size - n * TILE_WIDTH)))!),
    );
  return out;
}

/** A log of exactly `entries`, its checkpoint signed with the real log key (or `signer`'s). */
export function fakeLog(entries: Uint8Array[], signer: NoteSigner = logSignerForTests): Fetch {
  const note = signCheckpoint(
    { origin: ORIGIN, size: entries.length, rootHash: rootFromLeafHashes(entries.map(recordHash)) },
    signer,
  );
  return async (url) => {
    const path = new URL(url).pathname;
    if (path === '/log/checkpoint') return new Response(note);
    for (let n = 0; n * TILE_WIDTH < entries.length; n++) {
      const width = Math.min(TILE_WIDTH, entries.length - n * TILE_WIDTH);
      if (path === `/log/${entryBundlePath(n, width)}`)
        return new Response(
          encodeEntryBundle(entries.slice(n * TILE_WIDTH, n * TILE_WIDTH + width)) as Uint8Array<ArrayBuffer>,
        );
    }
    return new Response('not found', { status: 404 });
  };
}

const logKey = parseVerifierKey(logSignerForTests.verifierKey);

export const parties = {
  origin: ORIGIN,
  logKey,
  /** A client with the pins of `t` (its VRF key) and, optionally, a witness policy. */
  client(fetch: Fetch, t: TestDirectory, policy?: WitnessPolicy): LookupClient {
    return new LookupClient({
      baseUrl: 'http://kt.test',
      pins: { origin: ORIGIN, logKey, vrfKey: t.dir.vrfPublicKey, policy },
      fetch,
    });
  },
  /** An auditor of the log served by `fetch`, from scratch (enrolments unchecked unless `opts` says how). */
  auditor(fetch: Fetch, opts: Partial<AuditorOptions> = {}): Auditor {
    return new Auditor({
      logUrl: 'http://kt.test/log',
      checkpoints: new CheckpointVerifier({ origin: ORIGIN, logKey }),
      enrolment: 'unchecked',
      fetch,
      ...opts,
    });
  },
};
