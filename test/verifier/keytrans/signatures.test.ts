/**
 * Tests for verifier/keytrans/signatures.ts and signed-structures.ts against
 * test/vectors/keytrans/primitives/signatures.json: every Configuration (three modes, with and without
 * maximum_lifetime, both suites) encodes to the vector's bytes; every TreeHeadTBS, AuditorTreeHeadTBS and UpdateTBS
 * encodes byte for byte and its signature verifies under the right key (Ed25519, and ECDSA P-256 as r || s), while
 * the vector's corrupted signature, single-bit flips of the signature, another root, size or timestamp, and the
 * wrong key are refused with KeyTransError 'kt_bad_signature'; fields present in a mode that does not carry them
 * are refused by the encoder.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { TlsError } from '../../../verifier/keytrans/tls.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import {
  verifyAuditorTreeHead,
  verifyAuditorTreeHeadSignature,
  verifyTreeHeadSignature,
  verifyUpdateSignature,
} from '../../../verifier/keytrans/signatures.js';
import {
  encodeAuditorTreeHeadTbs,
  encodeConfiguration,
  encodeTreeHeadTbs,
  encodeUpdateTbs,
} from '../../../verifier/keytrans/signed-structures.js';
import { configurationFromFields, expectKtError } from '../../helpers/keytrans-primitives.js';
import { vectorJson } from '../../helpers/vectors.js';

interface SignedCase {
  suite: string;
  structure: 'TreeHeadTBS' | 'AuditorTreeHeadTBS' | 'UpdateTBS';
  description: string;
  config_encoding: string;
  fields: Record<string, any>;
  tbs_encoding: string;
  public_key: string;
  signature: string;
  invalid_signature: string;
}

const VECTORS: {
  configurations: { suite: string; description: string; fields: Record<string, any>; encoding: string }[];
  signed_structures: SignedCase[];
} = vectorJson('keytrans/primitives/signatures.json');

/** The configuration a signed case was made under: the one of its suite whose encoding it names. */
function configOf(c: SignedCase): Configuration {
  const found = VECTORS.configurations.find((x) => x.suite === c.suite && x.encoding === c.config_encoding);
  if (found === undefined) throw new Error(`no configuration for ${c.description}`);
  return configurationFromFields(found.fields);
}

/** The TBS bytes of a case, from its fields. */
function tbsOf(config: Configuration, c: SignedCase): Uint8Array {
  const f = c.fields;
  if (c.structure === 'TreeHeadTBS') return encodeTreeHeadTbs(config, f.tree_size, fromHex(f.root));
  if (c.structure === 'AuditorTreeHeadTBS')
    return encodeAuditorTreeHeadTbs(config, f.timestamp, f.tree_size, fromHex(f.root));
  return encodeUpdateTbs(config, fromHex(f.label), f.version, fromHex(f.value));
}

/** Verifies a case's signature with the function its structure calls for, with fields changed by `change`. */
function verify(config: Configuration, c: SignedCase, signature: Uint8Array, change: Record<string, any> = {}): void {
  const f = { ...c.fields, ...change };
  if (c.structure === 'TreeHeadTBS')
    return verifyTreeHeadSignature(config, { treeSize: f.tree_size, signature }, fromHex(f.root));
  if (c.structure === 'AuditorTreeHeadTBS')
    return verifyAuditorTreeHeadSignature(
      config,
      { timestamp: f.timestamp, treeSize: f.tree_size, signature },
      fromHex(f.root),
    );
  verifyUpdateSignature(config, fromHex(f.label), f.version, { value: fromHex(f.value), suffix: { signature } });
}

describe('Configuration encodings', () => {
  it.each(VECTORS.configurations.map((c) => [`${c.suite}, ${c.description}`, c] as const))('%s', (_, c) => {
    expect(toHex(encodeConfiguration(configurationFromFields(c.fields)))).toBe(c.encoding);
  });

  it('refuse fields in modes that do not carry them, and missing ones', () => {
    const [plain, , managed, audited] = VECTORS.configurations.map((c) => configurationFromFields(c.fields));
    const bad: Configuration[] = [
      { ...plain, leafPublicKey: new Uint8Array(32) },
      { ...plain, maxAuditorLag: 1 },
      { ...managed, leafPublicKey: undefined },
      { ...audited, auditorPublicKey: undefined },
      { ...audited, leafPublicKey: new Uint8Array(32) },
    ];
    for (const c of bad) expect(() => encodeConfiguration(c)).toThrow(TlsError);
  });
});

describe.each(VECTORS.signed_structures.map((c) => [`${c.suite} ${c.structure}, ${c.description}`, c] as const))(
  '%s',
  (_, c) => {
    const config = configOf(c);
    const signature = fromHex(c.signature);

    it('encodes its TBS byte for byte and verifies under the right key', () => {
      expect(toHex(tbsOf(config, c))).toBe(c.tbs_encoding);
      const key = {
        TreeHeadTBS: config.signaturePublicKey,
        AuditorTreeHeadTBS: config.auditorPublicKey,
        UpdateTBS: config.leafPublicKey,
      };
      expect(toHex(key[c.structure] as Uint8Array)).toBe(c.public_key);
      verify(config, c, signature);
    });

    it('refuses the corrupted signature and single-bit flips', () => {
      expectKtError(() => verify(config, c, fromHex(c.invalid_signature)), 'kt_bad_signature');
      for (let bit = 0; bit < signature.length * 8; bit += 7) {
        const flipped = signature.slice();
        flipped[bit >> 3] ^= 1 << (bit & 7);
        expectKtError(() => verify(config, c, flipped), 'kt_bad_signature');
      }
      expectKtError(() => verify(config, c, signature.subarray(1)), 'kt_bad_signature');
    });

    it('refuses changed fields and another key', () => {
      const changes =
        c.structure === 'UpdateTBS'
          ? [{ version: c.fields.version + 1 }, { label: `${c.fields.label}00` }, { value: '' }]
          : [{ tree_size: c.fields.tree_size + 1 }, { root: '00'.repeat(32) }, { timestamp: 1 }];
      for (const change of changes.slice(0, c.structure === 'TreeHeadTBS' ? 2 : 3))
        expectKtError(() => verify(config, c, signature, change), 'kt_bad_signature');
      const other = { ...config, signaturePublicKey: config.vrfPublicKey, maxAhead: config.maxAhead + 1 };
      expectKtError(() => verify(other, c, signature), 'kt_bad_signature');
    });
  },
);

describe('mode rules', () => {
  const configs = VECTORS.configurations.map((c) => configurationFromFields(c.fields));
  const [plain] = configs;
  const root = new Uint8Array(32);

  it('an auditor tree head needs thirdPartyAuditing, an update signature thirdPartyManagement', () => {
    const head = { timestamp: 0, treeSize: 1, signature: new Uint8Array(64) };
    expectKtError(() => verifyAuditorTreeHeadSignature(plain, head, root), 'kt_bad_input');
    verifyUpdateSignature(plain, new Uint8Array(0), 0, { value: new Uint8Array(0), suffix: {} });
    const signed = { value: new Uint8Array(0), suffix: { signature: new Uint8Array(64) } };
    expectKtError(() => verifyUpdateSignature(plain, new Uint8Array(0), 0, signed), 'kt_bad_input');
    const managed = configs[2];
    const unsigned = { value: new Uint8Array(0), suffix: {} };
    expectKtError(() => verifyUpdateSignature(managed, new Uint8Array(0), 0, unsigned), 'kt_bad_signature');
  });

  it('refuses an unknown cipher suite', () => {
    const head = { treeSize: 1, signature: new Uint8Array(64) };
    expectKtError(() => verifyTreeHeadSignature({ ...plain, ciphersuite: 3 as 1 }, head, root), 'kt_unknown_suite');
  });
});

describe('auditor tree head bounds (steps 1-3)', () => {
  const c = VECTORS.signed_structures.find(
    (x) => x.structure === 'AuditorTreeHeadTBS' && x.suite === 'KT_128_SHA256_Ed25519',
  ) as SignedCase;
  const config = configOf(c);
  const head = { timestamp: c.fields.timestamp, treeSize: c.fields.tree_size, signature: fromHex(c.signature) };
  const root = fromHex(c.fields.root);
  const ok = { treeSize: 1000, rightmostTimestamp: head.timestamp + 1000, previousAuditorTreeSize: null };

  it('accepts a head within bounds, with a valid signature', () => {
    verifyAuditorTreeHead(config, head, root, ok);
    verifyAuditorTreeHead(config, head, root, { ...ok, treeSize: head.treeSize, rightmostTimestamp: head.timestamp });
    const lag = config.maxAuditorLag as number;
    verifyAuditorTreeHead(config, head, root, { ...ok, rightmostTimestamp: head.timestamp + lag });
    verifyAuditorTreeHead(config, head, root, { ...ok, previousAuditorTreeSize: config.auditorStartPos as number });
  });

  it('refuses each bound crossed, and then a bad signature', () => {
    const lag = config.maxAuditorLag as number;
    const start = config.auditorStartPos as number;
    for (const context of [
      { ...ok, previousAuditorTreeSize: start - 1 },
      { ...ok, rightmostTimestamp: head.timestamp - 1 },
      { ...ok, rightmostTimestamp: head.timestamp + lag + 1 },
      { ...ok, treeSize: head.treeSize - 1 },
    ])
      expectKtError(() => verifyAuditorTreeHead(config, head, root, context), 'kt_bad_tree_head');
    const forged = { ...head, signature: fromHex(c.invalid_signature) };
    expectKtError(() => verifyAuditorTreeHead(config, forged, root, ok), 'kt_bad_signature');
    const plain = configurationFromFields(VECTORS.configurations[0].fields);
    expectKtError(() => verifyAuditorTreeHead(plain, head, root, ok), 'kt_bad_input');
  });
});
