/**
 * The lookup's charge hooks (log/directory/proof-builder.ts, `LookupCharge`): a name the store knows costs
 * no VRF proof and no surcharge; an unknown one calls `absent` before its proof is computed, and a refusal
 * there leaves the proof uncomputed; a discovery says how many lookups it makes before making any.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { Directory } from '../../../log/directory/directory.js';
import { proveDiscovery, proveLookup, proveMonitorCheck } from '../../../log/directory/proof-builder.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';
import { inlineVrfProver } from '../../../log/directory/vrf-prover.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { enrolProvider, identityKey, publish, statementFor, type TestDirectory } from '../../helpers/directory.js';
import { logSigner, ORIGIN } from '../../helpers/log.js';
import { makeRoot } from '../../helpers/pki.js';

/** A directory whose VRF proofs are counted. */
async function countingDirectory(): Promise<{ t: TestDirectory; proofs: () => number }> {
  const db = new Database(':memory:');
  const root = await makeRoot();
  const clock = { now: Date.now() };
  const storage = new SqliteLogStorage(db);
  const signer = logSigner();
  const log = await LogAppender.open({ storage, signer, origin: ORIGIN });
  const vrfSecretKey = randomBytes(32);
  const inline = inlineVrfProver(vrfSecretKey);
  let proofs = 0;
  const dir = await Directory.open({
    log,
    reader: new LogReader(storage, () => log.head),
    store: new SqliteDirectoryStore(db),
    vrfSecretKey,
    trustedRoots: [root.der],
    now: () => clock.now,
    vrfProver: { prove: (alpha, priority) => (proofs++, inline.prove(alpha, priority)) },
  });
  const t = { db, dir, log, clock, root } as unknown as TestDirectory;
  return { t, proofs: () => proofs };
}

class Refused extends Error {}

describe('the lookup charge', () => {
  it('is asked for an unknown name before its VRF proof, which a refusal leaves uncomputed', async () => {
    const { t, proofs } = await countingDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'a@chat.example', 1, [identityKey()], t.clock.now)));
    const before = proofs();
    const asked: string[] = [];
    await proveLookup(t.dir, 'chat.example', 'a@chat.example', { absent: () => void asked.push('a') });
    expect([asked, proofs() - before]).toEqual([[], 0]); // known: no surcharge, no proof
    await proveLookup(t.dir, 'chat.example', 'b@chat.example', { absent: () => void asked.push('b') });
    expect([asked, proofs() - before]).toEqual([['b'], 1]);
    const refuse = {
      absent: () => {
        throw new Refused();
      },
    };
    await expect(proveLookup(t.dir, 'chat.example', 'c@chat.example', refuse)).rejects.toBeInstanceOf(Refused);
    await expect(proveMonitorCheck(t.dir, 'chat.example', 'c@chat.example', 1, refuse)).rejects.toBeInstanceOf(Refused);
    // A charge settled later (the Worker's limiter object) refuses the same way, before the proof.
    const refuseLater = { absent: () => Promise.reject(new Refused()) };
    await expect(proveLookup(t.dir, 'chat.example', 'c@chat.example', refuseLater)).rejects.toBeInstanceOf(Refused);
    expect(proofs() - before).toBe(1);
  });

  it('tells a discovery’s lookups before any, and each absent provider with the lookups left', async () => {
    const { t, proofs } = await countingDirectory();
    for (const id of ['one.example', 'two.example', 'three.example']) await enrolProvider(t, id);
    const calls: string[] = [];
    const charge = {
      lookups: (n: number) => void calls.push(`lookups ${n}`),
      absent: (left?: number) => void calls.push(`absent ${left}`),
    };
    await proveDiscovery(t.dir, 'x@example.org', charge);
    expect(calls).toEqual(['lookups 3', 'absent 3', 'absent 2', 'absent 1']);
    const before = proofs();
    let absent = 0;
    const refuseSecond = {
      absent: () => {
        if (++absent === 2) throw new Refused();
      },
    };
    await expect(proveDiscovery(t.dir, 'y@example.org', refuseSecond)).rejects.toBeInstanceOf(Refused);
    expect(proofs() - before).toBe(1);
  });
});
