/**
 * Concurrent enrolments of one certificate (log/directory/directory.ts `enrol`, provider-jobs.ts): the chain is
 * validated asynchronously, then the duplicate check and the queueing share one tick, so that of two enrolments
 * of the same certificate sent at once exactly one is queued and the other is refused `already_enrolled`; one
 * credential is then recorded, and once revoked none of that certificate stays active.
 */
import { describe, expect, it } from 'vitest';
import { openTestDirectory } from '../../helpers/directory.js';
import { makeLeaf } from '../../helpers/pki.js';

const outcomeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'queued',
    (e) => (e as { code?: string }).code ?? String(e),
  );

describe('two enrolments of one certificate at once', () => {
  it('queue one and refuse the other, so that a revocation leaves none of it active', async () => {
    const t = await openTestDirectory();
    const leaf = await makeLeaf(t.root, { dnsNames: ['twice.example'] });
    const outcomes = await Promise.all([outcomeOf(t.dir.enrol([leaf.der])), outcomeOf(t.dir.enrol([leaf.der]))]);
    expect(outcomes.sort()).toEqual(['already_enrolled', 'queued']);
    expect(t.dir.queueDepth).toBe(1);
    await t.dir.closeEpoch();
    const enrolled = t.dir.credentials.all().filter((c) => c.entry.providerId === 'twice.example');
    expect(enrolled).toHaveLength(1);
    const revoked = t.dir.revoke('twice.example', enrolled[0].fingerprint, 'compromised');
    await t.dir.closeEpoch();
    await revoked;
    expect(t.dir.credentials.findActive('twice.example', enrolled[0].fingerprint)).toBeFalsy();
  });
});
