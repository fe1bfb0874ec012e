/**
 * Checkpoints under a witness policy (verifier/verification/checkpoint-policy.ts): k-of-n distinct witnesses, freshness
 * from the k-th newest cosignature, cosignatures from the future refused, signatures verified once per
 * note, and every bit flip and field swap of the note refused.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, makeCosignature, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import {
  appendSignatures,
  ed25519NoteSigner,
  parseVerifierKey,
  splitNote,
  type NoteVerifier,
} from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { CheckpointVerifier, type WitnessPolicy } from '../../../verifier/verification/checkpoint-policy.js';
import { VerifyError } from '../../../verifier/verification/errors.js';

const ORIGIN = 'example.com/policy-test';
const NOW_S = 1_800_000_000;
const log = ed25519NoteSigner(ORIGIN, sha256(utf8('policy test log')));
const logKey = parseVerifierKey(log.verifierKey);
const witnesses = ['w1.example', 'w2.example', 'w3.example'].map((n) => cosigner(n, sha256(utf8(n))));
const witnessKeys = witnesses.map((w) => parseCosignerKey(w.verifierKey));
const base = signCheckpoint({ origin: ORIGIN, size: 5, rootHash: sha256(utf8('root')) }, log);

/** The checkpoint cosigned by the given witnesses, each at NOW_S minus its age in seconds. */
function cosigned(ages: [number, number][], note = base): string {
  const text = utf8(splitNote(utf8(note)).text);
  return appendSignatures(
    note,
    ages.map(([w, age]) => makeCosignature(witnesses[w], text, BigInt(NOW_S - age))),
  );
}

function verifier(policy?: WitnessPolicy, keys: NoteVerifier = logKey): CheckpointVerifier {
  return new CheckpointVerifier({ origin: ORIGIN, logKey: keys, policy, now: () => NOW_S * 1000 });
}

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(VerifyError);
    return (e as VerifyError).code;
  }
};

describe('checkpoints under a witness policy', () => {
  const twoOfThree: WitnessPolicy = { witnesses: witnessKeys, quorum: 2, maxAgeSeconds: 600 };

  it('accepts a quorum of fresh cosignatures and reports the distinct witnesses', () => {
    const opened = verifier(twoOfThree).verify(
      cosigned([
        [0, 10],
        [2, 30],
      ]),
    );
    expect(opened.checkpoint.size).toBe(5);
    expect(opened.cosignatures.map((c) => c.name).sort()).toEqual(['w1.example', 'w3.example']);
    expect(verifier().verify(base).cosignatures).toEqual([]); // no policy: the log's signature only
  });

  it('refuses fewer distinct witnesses than the quorum; a witness twice, or one not in the policy, counts once or not at all', () => {
    const w1Rotated = cosigner('w1.example', sha256(utf8('w1 new key')));
    const both: WitnessPolicy = { witnesses: [...witnessKeys, parseCosignerKey(w1Rotated.verifierKey)], quorum: 2 };
    const twoKeysOneWitness = appendSignatures(cosigned([[0, 10]]), [
      makeCosignature(w1Rotated, utf8(splitNote(utf8(base)).text), BigInt(NOW_S - 5)),
    ]);
    expect(code(() => verifier(both).verify(twoKeysOneWitness))).toBe('witness_quorum');
    expect(code(() => verifier(twoOfThree).verify(cosigned([[0, 10]])))).toBe('witness_quorum');
    const again = appendSignatures(cosigned([[0, 10]]), [
      makeCosignature(witnesses[0], utf8(splitNote(utf8(base)).text), BigInt(NOW_S - 5)),
    ]);
    expect(code(() => verifier(twoOfThree).verify(again))).toBe('witness_quorum');
    const onlyTwoKnown: WitnessPolicy = { witnesses: witnessKeys.slice(0, 2), quorum: 2 };
    expect(
      code(() =>
        verifier(onlyTwoKnown).verify(
          cosigned([
            [0, 1],
            [2, 1],
          ]),
        ),
      ),
    ).toBe('witness_quorum');
  });

  it('takes freshness from the quorum-th newest cosignature, and does not count cosignatures from the future', () => {
    expect(
      code(() =>
        verifier(twoOfThree).verify(
          cosigned([
            [0, 10],
            [1, 900],
          ]),
        ),
      ),
    ).toBe('stale_checkpoint');
    expect(
      code(() =>
        verifier(twoOfThree).verify(
          cosigned([
            [0, 10],
            [1, 900],
            [2, 599],
          ]),
        ),
      ),
    ).toBeUndefined();
    expect(
      code(() =>
        verifier({ ...twoOfThree, quorum: 1 }).verify(
          cosigned([
            [0, 10],
            [1, 900],
          ]),
        ),
      ),
    ).toBeUndefined();
    // A witness dating its cosignature an hour ahead does not count, and does not veto the others.
    expect(
      code(() =>
        verifier(twoOfThree).verify(
          cosigned([
            [0, 10],
            [1, -3600],
          ]),
        ),
      ),
    ).toBe('witness_quorum');
    expect(
      verifier(twoOfThree)
        .verify(
          cosigned([
            [0, 10],
            [1, -3600],
            [2, 20],
          ]),
        )
        .cosignatures.map((c) => c.name)
        .sort(),
    ).toEqual(['w1.example', 'w3.example']);
    expect(
      code(() =>
        verifier(twoOfThree).verify(
          cosigned([
            [0, 10],
            [1, -200],
          ]),
        ),
      ),
    ).toBeUndefined(); // within the skew
    expect(
      code(() =>
        verifier({ ...twoOfThree, maxClockSkewSeconds: 100 }).verify(
          cosigned([
            [0, 10],
            [1, -200],
          ]),
        ),
      ),
    ).toBe('witness_quorum');
  });

  it("evaluates freshness on every call, but verifies a note's signatures once", () => {
    let now = NOW_S * 1000;
    let calls = 0;
    const counting = { ...logKey, verify: (t: Uint8Array, s: Uint8Array) => (calls++, logKey.verify(t, s)) };
    const v = new CheckpointVerifier({ origin: ORIGIN, logKey: counting, policy: twoOfThree, now: () => now });
    const note = cosigned([
      [0, 10],
      [1, 20],
    ]);
    v.verify(note);
    v.verify(note);
    expect(calls).toBe(1);
    now += 700_000;
    expect(code(() => v.verify(note))).toBe('stale_checkpoint');
  });

  it('refuses impossible policies', () => {
    expect(code(() => verifier({ witnesses: witnessKeys, quorum: 4 }))).toBe('bad_policy');
    expect(code(() => verifier({ witnesses: [witnessKeys[0], witnessKeys[0]], quorum: 2 }))).toBe('bad_policy');
    expect(code(() => verifier({ witnesses: witnessKeys, quorum: 0, maxAgeSeconds: 60 }))).toBe('bad_policy');
    expect(code(() => verifier({ witnesses: witnessKeys, quorum: 1, maxAgeSeconds: 0 }))).toBe('bad_policy');
    expect(code(() => verifier({ witnesses: witnessKeys, quorum: 1, maxClockSkewSeconds: Number.NaN }))).toBe(
      'bad_policy',
    );
    // A witness's old and new keys, both pinned, are one witness.
    const rotated = parseCosignerKey(cosigner('w1.example', sha256(utf8('w1 new key'))).verifierKey);
    expect(code(() => verifier({ witnesses: [witnessKeys[0], rotated], quorum: 2 }))).toBe('bad_policy');
  });

  it('refuses every bit flip of the log signature and of each cosignature, and swapped fields', () => {
    const note = cosigned([
      [0, 10],
      [1, 20],
    ]);
    const lines = note.split('\n');
    const sigLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('\u2014 '));
    expect(sigLines).toHaveLength(3);
    for (const [line, i] of sigLines) {
      const [prefix, b64] = [line.slice(0, line.lastIndexOf(' ') + 1), line.slice(line.lastIndexOf(' ') + 1)];
      const raw = fromBase64(b64);
      for (let bit = 0; bit < raw.length * 8; bit += 7) {
        const flipped = raw.slice();
        flipped[bit >> 3] ^= 1 << (bit & 7);
        const tampered = [...lines.slice(0, i), prefix + toBase64(flipped), ...lines.slice(i + 1)].join('\n');
        expect(
          code(() => verifier(twoOfThree).verify(tampered)),
          `line ${i} bit ${bit}`,
        ).toBeDefined();
      }
    }
    // Another origin, size or root under the same signatures; another log key; a witness's cosignature moved to another checkpoint.
    for (const [from, to] of [
      [ORIGIN, 'example.com/other'],
      ['\n5\n', '\n6\n'],
    ])
      expect(code(() => verifier(twoOfThree).verify(note.replace(from, to)))).toBe('bad_checkpoint');
    const otherLog = parseVerifierKey(ed25519NoteSigner(ORIGIN, sha256(utf8('another log'))).verifierKey);
    expect(code(() => verifier(twoOfThree, otherLog).verify(note))).toBe('bad_checkpoint');
    const other = signCheckpoint({ origin: ORIGIN, size: 6, rootHash: sha256(utf8('root 6')) }, log);
    const moved = appendSignatures(
      other,
      splitNote(utf8(note)).signatures.filter((s) => s.name !== ORIGIN),
    );
    expect(code(() => verifier(twoOfThree).verify(moved))).toBe('bad_checkpoint');
  });
});
