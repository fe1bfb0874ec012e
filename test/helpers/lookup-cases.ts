/**
 * A test directory that answers each case of a lookup: `chat.example` enrolled, ann@example.org present,
 * del@example.org deleted (version 1, then a tombstone), nobody@example.org absent, and any account of
 * `talk.example` not enrolled; with `more` further accounts at chat.example (u1@example.org ...), so that
 * map proofs have several steps. What the binary proof's tests encode, decode and damage.
 */
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from './directory.js';

/** Provider, account and the status a verified lookup of them gives. */
export const LOOKUP_CASES: [string, string, string][] = [
  ['chat.example', 'ann@example.org', 'present'],
  ['chat.example', 'del@example.org', 'deleted'],
  ['chat.example', 'nobody@example.org', 'absent'],
  ['talk.example', 'ann@example.org', 'not_enrolled'],
];

export async function lookupCasesDirectory(more = 0): Promise<TestDirectory> {
  const t = await openTestDirectory();
  const chat = await enrolProvider(t, 'chat.example');
  await publish(t, chat.sign(statementFor(chat, 'ann@example.org', 1, [identityKey()], t.clock.now)));
  await publish(t, chat.sign(statementFor(chat, 'del@example.org', 1, [identityKey()], t.clock.now)));
  const gone = statementFor(chat, 'del@example.org', 2, [], t.clock.now);
  await publish(t, chat.sign({ ...gone, status: 'deleted' }));
  for (let n = 1; n <= more; n++)
    await publish(t, chat.sign(statementFor(chat, `u${n}@example.org`, 1, [identityKey()], t.clock.now)));
  return t;
}
