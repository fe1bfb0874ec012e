/**
 * A directory's log with KEYTRANS heads entries (docs/PROTOCOL.md section 22.7), for the history's and the
 * auditor's tests: two providers enrolled one after the other (so the second's deployment appears with tree size 1
 * beside the first's), accounts published over several epochs (eleven KEYTRANS heads entries, the last seven
 * with both providers), and the log's entries with their decoded types.
 */
import { decodeEntry, encodeEntry, type Entry, type KeyTransHeadsEntry } from '../../verifier/formats/entries.js';
import { entriesOf } from '../attacks/malicious.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from './directory.js';

export interface KeyTransLog {
  t: TestDirectory;
  entries: Uint8Array[];
  /** The log indices of the KEYTRANS heads entries, in order. */
  heads: number[];
  /** The sizes of the log that end with an epoch head (where an audit can stop). */
  epochEnds: number[];
}

export async function keyTransLog(): Promise<KeyTransLog> {
  const t = await openTestDirectory({ keytrans: true });
  const providers = [];
  for (const id of ['chat.example', 'talk.example']) {
    const p = await enrolProvider(t, id);
    providers.push(p);
    for (let v = 1; v <= 3; v++) await publish(t, p.sign(statementFor(p, `a@${id}`, v, [identityKey()], t.clock.now)));
  }
  for (let v = 4; v <= 5; v++)
    for (const p of providers) await publish(t, p.sign(statementFor(p, `a@${p.id}`, v, [identityKey()], t.clock.now)));
  const entries = await entriesOf(t);
  const types = entries.map((e) => decodeEntry(e).type);
  return {
    t,
    entries,
    heads: types.flatMap((x, i) => (x === 'keytrans' ? [i] : [])),
    epochEnds: types.flatMap((x, i) => (x === 'epoch' ? [i + 1] : [])),
  };
}

/** The KEYTRANS heads entry at `index` of `entries`, decoded. */
export function headsAt(entries: Uint8Array[], index: number): KeyTransHeadsEntry {
  const e = decodeEntry(entries[index]);
  if (e.type !== 'keytrans') throw new Error(`entry ${index} is not a KEYTRANS heads entry`);
  return e;
}

/** `entries` with the one at `index` decoded, changed by `f` and encoded again (to be served re-signed). */
export function rewritten(entries: Uint8Array[], index: number, f: (e: Entry) => Entry | void): Uint8Array[] {
  return entries.map((bytes, i) => {
    if (i !== index) return bytes;
    const e = decodeEntry(bytes);
    return encodeEntry(f(e) ?? e);
  });
}
