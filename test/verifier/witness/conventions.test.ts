/**
 * Witness naming conventions (verifier/witness/conventions.ts), against what sigsum's own tool printed for one
 * key (`sigsum-key generate`, `to-hex`, `to-hash`, `to-vkey`, sigsum-go 0.11.1 from Debian bookworm-backports)
 * and against SHA-256 recomputed with @noble/hashes; every malformed or mistaken key is refused with its code.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { SIG_TYPE_COSIGNATURE_V1, decodeVerifierKey, encodeVerifierKey } from '../../../wasm-free-crypto/note.js';
import {
  parseWitnessPublicKey,
  sigsumCosignerKey,
  sigsumLogOrigin,
  sigsumWitnessName,
} from '../../../verifier/witness/conventions.js';
import { errorCode } from '../../helpers/error-code.js';

// Printed by sigsum-key 0.11.1 for one generated key.
const SSH = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILNubL2M9oeYQyCHYVzlJQvgR43uW8Yox+dLBAfk4WQg sigsum key';
const HEX = 'b36e6cbd8cf68798432087615ce5250be0478dee5bc628c7e74b0407e4e16420';
const HASH = '8974b53cea6444e8de521e9f232d493a7f48024579818a53d212f99f745853e0';
const TO_VKEY = `sigsum.org/v1/tree/${HASH}+49dfa811+AbNubL2M9oeYQyCHYVzlJQvgR43uW8Yox+dLBAfk4WQg`;

describe("sigsum's naming convention", () => {
  const key = fromHex(HEX);

  it('derives the origin and the witness name as sigsum-key hashes the key', () => {
    expect(toHex(nobleSha256(key))).toBe(HASH);
    expect(sigsumLogOrigin(key)).toBe(`sigsum.org/v1/tree/${HASH}`);
    expect(sigsumWitnessName(key)).toBe(`sigsum.org/v1/witness/${HASH}`);
    // sigsum-key to-vkey: the log form, type 0x01 under the /tree/ name; ours encodes it alike.
    expect(encodeVerifierKey(sigsumLogOrigin(key), 0x01, key)).toBe(TO_VKEY);
  });

  it('makes the cosigner key string: type 0x04 under the /witness/ name', () => {
    const vkey = sigsumCosignerKey(key);
    const parts = decodeVerifierKey(vkey);
    expect(parts).toMatchObject({ name: `sigsum.org/v1/witness/${HASH}`, type: SIG_TYPE_COSIGNATURE_V1 });
    expect(toHex(parts.publicKey)).toBe(HEX);
  });

  it('reads the witness key from OpenSSH, hex, or its own cosigner key string', () => {
    expect(toHex(parseWitnessPublicKey(SSH))).toBe(HEX);
    expect(toHex(parseWitnessPublicKey(`  ${HEX.toUpperCase()}\n`))).toBe(HEX);
    expect(toHex(parseWitnessPublicKey(sigsumCosignerKey(key)))).toBe(HEX);
  });

  it("refuses sigsum-key to-vkey's log form, with what to give instead", () => {
    expect(errorCode(() => parseWitnessPublicKey(TO_VKEY))).toBe('wrong_key_type');
    expect(() => parseWitnessPublicKey(TO_VKEY)).toThrow(
      /type 0x01.*sigsum-key to-vkey.*type 0x04 under sigsum.org\/v1\/witness\//,
    );
  });

  it('refuses a cosigner key string under another name', () => {
    const other = encodeVerifierKey('witness.example/w1', SIG_TYPE_COSIGNATURE_V1, key);
    expect(errorCode(() => parseWitnessPublicKey(other))).toBe('wrong_key_name');
    expect(() => parseWitnessPublicKey(other)).toThrow(
      `cosigns as sigsum.org/v1/witness/${HASH}, not witness.example/w1`,
    );
  });

  it('refuses malformed OpenSSH keys, other key types and other text', () => {
    const blob = fromBase64(SSH.split(' ')[1]);
    const ssh = (b: Uint8Array) => `ssh-ed25519 ${toBase64(b)}`;
    expect(errorCode(() => parseWitnessPublicKey(ssh(blob.subarray(0, blob.length - 1))))).toBe('bad_witness_key');
    expect(errorCode(() => parseWitnessPublicKey(ssh(Uint8Array.of(...blob, 0))))).toBe('bad_witness_key');
    const renamed = blob.slice();
    renamed.set(utf8('ssh-ed25518'), 4);
    expect(errorCode(() => parseWitnessPublicKey(ssh(renamed)))).toBe('bad_witness_key');
    expect(errorCode(() => parseWitnessPublicKey('ssh-rsa AAAAB3NzaC1yc2E='))).toBe('wrong_key_type');
    expect(errorCode(() => parseWitnessPublicKey('ssh-ed25519 not*base64'))).toBe('bad_witness_key');
    expect(errorCode(() => parseWitnessPublicKey(HEX.slice(2)))).toBe('bad_witness_key');
    expect(errorCode(() => sigsumLogOrigin(key.subarray(1)))).toBe('bad_witness_key');
    // Two keys in one text; 32 bytes that are not a curve point, or a point of small order (the identity).
    expect(errorCode(() => parseWitnessPublicKey(`${SSH}\n${SSH}\n`))).toBe('bad_witness_key');
    expect(errorCode(() => parseWitnessPublicKey('ff'.repeat(32)))).toBe('bad_witness_key');
    expect(errorCode(() => parseWitnessPublicKey(`01${'00'.repeat(31)}`))).toBe('bad_witness_key');
  });
});
