/**
 * The auditor's check of an enrolment log entry against the trusted roots (verifier/enrolment/enrolment-check.ts,
 * docs/PROTOCOL.md section 14): two enrolments a real test directory logged (an Ed25519 leaf with its
 * intermediate and a copy of the root, a P-256 leaf with its intermediate) pass, and every field changed is
 * `bad_enrolment`: the algorithm, each byte of the public key and of the provider id, each bit of the validity
 * bounds, a time (the entry's, or the committing head's) outside the validity of any certificate of the path, a bit flipped in each certificate of the
 * chain (across its tbsCertificate, signature algorithm and signature), the chain's certificates swapped,
 * doubled or left out, another provider's chain or leaf, an impostor root, another set of trusted roots. What is
 * accepted is asserted with the reason: another time inside the path's validity, the chain without the copy of
 * the root or with it twice, and the leaf's ECDSA signature malleated (section 13.2.6).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEnrolment } from '../../../verifier/enrolment/enrolment-check.js';
import { readChildren, readTlv } from '../../../verifier/enrolment/der.js';
import { decodeEntry, type EnrolmentEntry } from '../../../verifier/formats/entries.js';
import { entriesOf } from '../../attacks/malicious.js';
import { openTestDirectory } from '../../helpers/directory.js';
import { makeIntermediate, makeLeaf, makeRoot, malleateEcdsaSignature, type PkiCert } from '../../helpers/pki.js';

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000; // X.509 times have whole seconds
let root: PkiCert;
let inter: PkiCert; // expires long before the leaves: a time between is refused for the intermediate alone
let chatLeaf: PkiCert;
let talkLeaf: PkiCert;
let chat: EnrolmentEntry; // [chat leaf (Ed25519), intermediate, root]
let talk: EnrolmentEntry; // [talk leaf (P-256), intermediate]

beforeAll(async () => {
  root = await makeRoot({ notBefore: NOW - 10 * DAY, notAfter: NOW + 1000 * DAY });
  inter = await makeIntermediate(root, { notBefore: NOW - 5 * DAY, notAfter: NOW + 30 * DAY });
  chatLeaf = await makeLeaf(inter, { dnsNames: ['chat.example'], notBefore: NOW - DAY, notAfter: NOW + 365 * DAY });
  talkLeaf = await makeLeaf(inter, {
    dnsNames: ['talk.example'],
    keyType: 'p256',
    notBefore: NOW - 2 * DAY,
    notAfter: NOW + 200 * DAY,
  });
  const t = await openTestDirectory({ root, clock: { now: NOW } });
  for (const chain of [
    [chatLeaf.der, inter.der, root.der],
    [talkLeaf.der, inter.der],
  ]) {
    const { committed } = await t.dir.enrol(chain);
    await t.dir.closeEpoch();
    await committed;
  }
  const logged = (await entriesOf(t)).map(decodeEntry).filter((e) => e.type === 'enrol');
  [chat, talk] = logged;
});

/** The code `checkEnrolment` refuses the entry with, or 'accepted' (committed at NOW unless `committedAt` says). */
async function codeOf(entry: EnrolmentEntry, roots = [root.der], committedAt = NOW): Promise<string> {
  try {
    await checkEnrolment(entry, roots, committedAt);
    return 'accepted';
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
}

/** The cases (label, entry) whose code is not `expected`, each as "label: code"; [] when all are. */
async function misjudged(cases: [string, EnrolmentEntry][], expected = 'bad_enrolment'): Promise<string[]> {
  const out: string[] = [];
  for (const [label, entry] of cases) {
    const code = await codeOf(entry);
    if (code !== expected) out.push(`${label}: ${code}`);
  }
  return out;
}

/** A copy of `bytes` with one bit of byte `i` flipped (the bit turns with `i`, as in certificate.test.ts). */
function flipped(bytes: Uint8Array, i: number): Uint8Array {
  const out = bytes.slice();
  out[i] ^= 1 << (i % 8);
  return out;
}

/** `n` with bit `k` flipped (53-bit safe integers). */
const flipBit = (n: number, k: number) => (Math.floor(n / 2 ** k) % 2 === 1 ? n - 2 ** k : n + 2 ** k);

describe('the logged enrolments', () => {
  it('pass, as the directory logged them, with the fields of their leaves', async () => {
    expect([chat.providerId, chat.algorithm, chat.chain.length]).toEqual(['chat.example', 'ed25519', 3]);
    expect([talk.providerId, talk.algorithm, talk.chain.length]).toEqual(['talk.example', 'p256', 2]);
    expect([chat.notBefore, chat.notAfter, chat.time]).toEqual([NOW - DAY, NOW + 365 * DAY, NOW]);
    expect(await codeOf(chat)).toBe('accepted');
    expect(await codeOf(talk)).toBe('accepted');
  });
});

describe('the stated fields changed', () => {
  it('the algorithm: the other one, or a name the entries do not have', async () => {
    const other = (e: EnrolmentEntry, algorithm: string) => ({ ...e, algorithm }) as EnrolmentEntry;
    const cases: [string, EnrolmentEntry][] = [
      ['chat as p256', other(chat, 'p256')],
      ['talk as ed25519', other(talk, 'ed25519')],
      ...['Ed25519', 'ED25519', 'ecdsa', 'rsa', ''].map((a): [string, EnrolmentEntry] => [a, other(chat, a)]),
      ['talk with its key and algorithm', { ...chat, algorithm: talk.algorithm, publicKey: talk.publicKey }],
    ];
    expect(await misjudged(cases)).toEqual([]);
  });

  it('the public key: each byte, its length, the compressed form of the same P-256 point', async () => {
    const cases: [string, EnrolmentEntry][] = [];
    for (const e of [chat, talk]) {
      const key = e.publicKey;
      for (let i = 0; i < key.length; i++)
        cases.push([`${e.providerId} byte ${i}`, { ...e, publicKey: flipped(key, i) }]);
      cases.push([`${e.providerId} short`, { ...e, publicKey: key.subarray(0, -1) }]);
      cases.push([`${e.providerId} long`, { ...e, publicKey: Uint8Array.of(...key, 0) }]);
      cases.push([`${e.providerId} empty`, { ...e, publicKey: new Uint8Array(0) }]);
    }
    const x = talk.publicKey.subarray(1, 33);
    const compressed = Uint8Array.of(2 + (talk.publicKey[64] & 1), ...x);
    cases.push(['talk compressed', { ...talk, publicKey: compressed }]);
    cases.push(['chat with talk key', { ...chat, publicKey: talk.publicKey }]);
    expect(await misjudged(cases)).toEqual([]);
  });

  it('the provider id: each character, its case, a dot or space added, the other provider', async () => {
    const cases: [string, EnrolmentEntry][] = [];
    const id = chat.providerId;
    for (let i = 0; i < id.length; i++)
      for (const bit of [0x01, 0x20]) {
        const changed = id.slice(0, i) + String.fromCharCode(id.charCodeAt(i) ^ bit) + id.slice(i + 1);
        cases.push([`char ${i} ^ ${bit}`, { ...chat, providerId: changed }]);
      }
    for (const changed of [`${id}.`, ` ${id}`, `${id} `, `x${id}`, id.toUpperCase(), talk.providerId, ''])
      cases.push([JSON.stringify(changed), { ...chat, providerId: changed }]);
    expect(await misjudged(cases)).toEqual([]);
  });

  it('the validity: each bit of either bound, a millisecond, swapped, the other leaf’s', async () => {
    const cases: [string, EnrolmentEntry][] = [];
    for (const e of [chat, talk])
      for (let k = 0; k < 53; k++) {
        cases.push([`${e.providerId} notBefore bit ${k}`, { ...e, notBefore: flipBit(e.notBefore, k) }]);
        cases.push([`${e.providerId} notAfter bit ${k}`, { ...e, notAfter: flipBit(e.notAfter, k) }]);
      }
    cases.push(['notBefore - 1', { ...chat, notBefore: chat.notBefore - 1 }]);
    cases.push(['notAfter + 1', { ...chat, notAfter: chat.notAfter + 1 }]);
    cases.push(['swapped', { ...chat, notBefore: chat.notAfter, notAfter: chat.notBefore }]);
    cases.push(['talk notBefore', { ...chat, notBefore: talk.notBefore }]);
    cases.push(['talk notAfter', { ...chat, notAfter: talk.notAfter }]);
    expect(await misjudged(cases)).toEqual([]);
  });

  it('the time: refused outside the validity of any certificate of the path, bounds inclusive', async () => {
    const at = (time: number) => ({ ...chat, time });
    const refused: [string, EnrolmentEntry][] = [
      ['before the leaf', at(chatLeaf.cert.notBefore.getTime() - 1)],
      ['after the intermediate', at(inter.cert.notAfter.getTime() + 1)],
      ['after the leaf', at(chatLeaf.cert.notAfter.getTime() + 1)],
      ['zero', at(0)],
    ];
    expect(await misjudged(refused)).toEqual([]);
    // The entry's time only places one check (section 14: the chain validates "at the entry's time"): any time inside
    // the path's validity is accepted, as the committing head's time is checked too (the next test).
    const [from, to] = [chatLeaf.cert.notBefore.getTime(), inter.cert.notAfter.getTime()];
    expect(
      await misjudged(
        [from, to, NOW - 1, NOW + 1].map((n) => [`${n}`, at(n)]),
        'accepted',
      ),
    ).toEqual([]);
    for (let k = 0; k < 53; k++) {
      const time = flipBit(chat.time, k);
      expect(await codeOf(at(time)), `time bit ${k}`).toBe(time >= from && time <= to ? 'accepted' : 'bad_enrolment');
    }
  });
});

describe("the committing epoch head's time", () => {
  it('refused outside the validity of any certificate of the path, bounds inclusive, whatever the entry says', async () => {
    const [from, to] = [chatLeaf.cert.notBefore.getTime(), inter.cert.notAfter.getTime()];
    const refusedAt = [from - 1, to + 1, chatLeaf.cert.notAfter.getTime() + 1, root.cert.notAfter.getTime() + 1, 0];
    for (const committedAt of refusedAt)
      expect(await codeOf(chat, [root.der], committedAt), `committed at ${committedAt}`).toBe('bad_enrolment');
    for (const committedAt of [from, to, NOW - 1, NOW + 1])
      expect(await codeOf(chat, [root.der], committedAt), `committed at ${committedAt}`).toBe('accepted');
    // An expired chain's enrolment backdated into its validity: the entry's time passes, the head's does not.
    const backdated = { ...chat, time: NOW - 1 };
    expect(await codeOf(backdated, [root.der], to + DAY)).toBe('bad_enrolment');
    expect(await codeOf(backdated, [root.der], NOW)).toBe('accepted');
    // The P-256 leaf outlives the intermediate too: its path ends with the intermediate's validity.
    expect(await codeOf(talk, [root.der], to + 1)).toBe('bad_enrolment');
    expect(await codeOf(talk, [root.der], to)).toBe('accepted');
  });

  it("names the head's time and the chain's validity in its message", async () => {
    const when = inter.cert.notAfter.getTime() + 1;
    await expect(checkEnrolment(chat, [root.der], when)).rejects.toThrow(
      `committed at ${new Date(when).toISOString()}, outside the validity of its certificate chain (` +
        `${chatLeaf.cert.notBefore.toISOString()} to ${inter.cert.notAfter.toISOString()})`,
    );
  });
});

/** Sampled offsets of `der`: its outer header, every 3rd byte of its TBS, every byte of its signature algorithm and
 * signature (the two parts outside the TBS, which the issuer's signature does not cover). */
function sampledOffsets(der: Uint8Array): number[] {
  const [tbs, alg, sig] = readChildren(der, readTlv(der, 0, der.length));
  const out = [0, 1, 2, 3];
  for (let i = tbs.start; i < tbs.end; i += 3) out.push(i);
  for (let i = alg.start; i < sig.end; i++) out.push(i);
  return out;
}

describe('the chain changed', () => {
  for (const [index, what] of ['leaf', 'intermediate', 'copy of the root'].entries())
    it(`a bit flipped across the ${what} (its TBS, signature algorithm and signature)`, async () => {
      for (const e of index < 2 ? [chat, talk] : [chat]) {
        const der = e.chain[index];
        const offsets = sampledOffsets(der);
        expect(offsets.length).toBeGreaterThan(150);
        const cases = offsets.map((i): [string, EnrolmentEntry] => {
          const chain = e.chain.map((c, j) => (j === index ? flipped(c, i) : c));
          return [`${e.providerId} byte ${i}`, { ...e, chain }];
        });
        expect(await misjudged(cases)).toEqual([]);
      }
    });

  it('its certificates swapped, doubled or one left out', async () => {
    const [leaf, ca, top] = chat.chain;
    const chains: [string, Uint8Array[]][] = [
      ['intermediate first', [ca, leaf, top]],
      ['root before the intermediate', [leaf, top, ca]],
      ['reversed', [top, ca, leaf]],
      ['no leaf', [ca, top]],
      ['no intermediate', [leaf, top]],
      ['the leaf alone', [leaf]],
      ['the root alone', [top]],
      ['no certificate', []],
      ['the leaf twice', [leaf, leaf, ca, top]],
      ['the intermediate twice', [leaf, ca, ca, top]],
      ['six certificates', [leaf, ca, top, top, top, top]],
    ];
    expect(await misjudged(chains.map(([label, chain]) => [label, { ...chat, chain }]))).toEqual([]);
  });

  it('another provider’s chain or leaf, an impostor root, other trusted roots', async () => {
    const reissued = await makeLeaf(inter, { dnsNames: ['chat.example'], notBefore: chat.notBefore });
    const impostor = await makeRoot({ name: root.name });
    const impostorInter = await makeIntermediate(impostor, { name: inter.name });
    const forged = await makeLeaf(impostorInter, { dnsNames: ['chat.example'], keys: chatLeaf.keys });
    const cases: [string, EnrolmentEntry][] = [
      ['talk’s chain', { ...chat, chain: talk.chain }],
      ['chat’s chain under talk', { ...talk, chain: chat.chain }],
      ['talk’s leaf', { ...chat, chain: [talk.chain[0], ...chat.chain.slice(1)] }],
      ['chat re-issued with another key', { ...chat, chain: [reissued.der, inter.der, root.der] }],
      ['chat’s key under an impostor root', { ...chat, chain: [forged.der, impostorInter.der, impostor.der] }],
      ['chat’s key under an impostor intermediate', { ...chat, chain: [forged.der, impostorInter.der] }],
    ];
    expect(await misjudged(cases)).toEqual([]);
    expect(await codeOf(chat, [impostor.der])).toBe('bad_enrolment');
    expect(await codeOf(talk, [impostor.der])).toBe('bad_enrolment');
  });

  it('accepts what does not change the credential: the root’s copy left out, the leaf’s ECDSA signature malleated', async () => {
    // The path ends at the configured root either way (section 13.2.3), and the entry states the leaf alone.
    expect(await codeOf({ ...chat, chain: chat.chain.slice(0, 2) })).toBe('accepted');
    // The root's copy doubled: a self-issued trusted root chains to itself, and section 13.2.3 does not forbid a
    // certificate twice in the path (RFC 5280 section 6.1 does): reported, asserted as the rules stand.
    expect(await codeOf({ ...chat, chain: [...chat.chain, root.der] })).toBe('accepted');
    // (r, n - s) is another valid signature of the same tbsCertificate: high S is accepted (section 13.2.4 rule 5).
    const malleated = malleateEcdsaSignature(talk.chain[0]);
    expect(malleated).not.toEqual(talk.chain[0]);
    expect(await codeOf({ ...talk, chain: [malleated, talk.chain[1]] })).toBe('accepted');
  });
});
