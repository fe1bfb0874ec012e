/**
 * The kept search keys (log/keytrans/search-keys.ts): each proven once while kept, by provider and VrfInput, the
 * least recently used dropped first past the bound, and each the VRF's answer for that input.
 */
import { describe, expect, it } from 'vitest';
import { operatorKeys } from '../../../log/keytrans/operator-keys.js';
import { SearchKeys } from '../../../log/keytrans/search-keys.js';
import { encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';

describe('kept search keys', () => {
  const keys = operatorKeys(new Uint8Array(32).fill(7), 'chat.example');
  let proofs = 0;
  const vrf = () => (input: Uint8Array) => {
    proofs++;
    return keys.vrf(input);
  };

  it('proves each (provider, label, version) once while kept, and drops the least recently used first', () => {
    const kept = new SearchKeys(2);
    const a = kept.of('chat.example', utf8('alice'), 0, vrf);
    const expected = keys.vrf(encodeVrfInput({ label: utf8('alice'), version: 0 }));
    expect([a.vrfOutput, a.vrfProof]).toEqual([expected.output, expected.proof]);
    kept.of('chat.example', utf8('alice'), 1, vrf);
    kept.of('chat.example', utf8('alice'), 0, vrf); // used again: now the most recent
    expect(proofs).toBe(2);
    kept.of('other.example', utf8('alice'), 0, vrf); // another provider's: a key of its own; drops version 1
    expect(proofs).toBe(3);
    kept.of('chat.example', utf8('alice'), 0, vrf);
    expect(proofs).toBe(3);
    kept.of('chat.example', utf8('alice'), 1, vrf);
    expect(proofs).toBe(4);
  });
});
