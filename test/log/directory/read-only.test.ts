/**
 * The directory's read-only mode (`Directory.refuseWrites`, which a restored backup's server uses until its
 * checkpoint is known to be the newest: api/node/restore-check.ts): submissions, enrolments, revocations
 * and epochs are refused with `read_only` and the reason, nothing is appended, a shutdown closes no epoch and
 * what was queued stays queued; lookups are still served; allowed again, it commits the queue.
 */
import { describe, expect, it } from 'vitest';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { enrolProvider, identityKey, openTestDirectory, statementFor } from '../../helpers/directory.js';
import { makeLeaf } from '../../helpers/pki.js';

const REASON = 'read-only: a restored backup, for this test';

describe('a read-only directory', () => {
  it('refuses every write and every epoch, serves lookups, and works again when allowed', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const first = chat.sign(statementFor(chat, 'a@chat.example', 1, [identityKey()], t.clock.now));
    const queued = await t.dir.submit(first.statement, first.signature); // accepted before the refusal
    const size = t.log.head.size;
    t.dir.refuseWrites(REASON);
    expect(t.dir.readOnlyReason).toBe(REASON);

    const second = chat.sign(statementFor(chat, 'b@chat.example', 1, [identityKey()], t.clock.now));
    await expect(t.dir.submit(second.statement, second.signature)).rejects.toMatchObject({
      code: 'read_only',
      message: REASON,
    });
    const talk = await makeLeaf(t.root, { dnsNames: ['talk.example'] });
    await expect(t.dir.enrol([talk.der])).rejects.toMatchObject({ code: 'read_only' });
    const fingerprint = t.dir.credentials.all()[0].fingerprint;
    expect(() => t.dir.revoke('chat.example', fingerprint, 'key compromise')).toThrow(REASON);
    await expect(t.dir.closeEpoch(true)).rejects.toMatchObject({ code: 'read_only' });
    await t.dir.stop(); // a shutdown closes no epoch either
    expect([t.log.head.size, t.dir.queueDepth]).toEqual([size, 1]);

    const absent = await proveLookup(t.dir, 'chat.example', 'a@chat.example');
    expect(t.verifier.verifyLookup(absent, 'chat.example', 'a@chat.example').status).toBe('absent');

    t.dir.refuseWrites(null);
    expect(t.dir.readOnlyReason).toBeNull();
    await t.dir.closeEpoch(false);
    expect((await queued.committed).logIndex).toBeGreaterThanOrEqual(size);
    const present = await proveLookup(t.dir, 'chat.example', 'a@chat.example');
    expect(t.verifier.verifyLookup(present, 'chat.example', 'a@chat.example').status).toBe('present');
  });
});
