/**
 * The seed of the Ed25519 key the scale build enrols its provider `chat.example` under (scale-build.ts), in a
 * module of its own with no imports: the cold start bench's child signs rotations with it and is bundled to
 * run without tsx (cold-start-bench.ts), so it imports nothing that would bring server code into its bundle.
 */
export const SCALE_PROVIDER_SEED: Uint8Array = new Uint8Array(32).fill(0x6b);

/** What signing a rotation takes: passed in, so that this module imports nothing at run time (see above). */
export interface RotationSigning {
  ed25519KeyPairFromSeed: typeof import('../wasm-free-crypto/ed25519.js').ed25519KeyPairFromSeed;
  randomBytes: typeof import('../wasm-free-crypto/random.js').randomBytes;
  signSync: typeof import('../wasm-free-crypto/signatures.js').signSync;
  encodeStatement: typeof import('../verifier/formats/statement-binary.js').encodeStatement;
  providerSignedMessage: typeof import('../verifier/formats/statement-binary.js').providerSignedMessage;
}

/**
 * Version `version` of `account` at chat.example with a fresh Ed25519 identity key, signed by the scale build's
 * provider key (what test/helpers/directory.ts's signedIdentityStatement makes, without the tests' helpers).
 */
export function scaleRotation(
  s: RotationSigning,
  account: string,
  version: number,
): { statement: Uint8Array; signature: Uint8Array } {
  const publicKey = s.ed25519KeyPairFromSeed(s.randomBytes(32)).publicKey;
  const key = { id: 'identity', algorithm: 'ed25519' as const, publicKey, protocol: 'signal/v3', capabilities: ['fs'] };
  const statement = s.encodeStatement({
    provider: 'chat.example',
    account,
    version,
    issuedAt: Date.now(),
    status: 'active',
    keys: [key],
  });
  // An Ed25519 secret key is its RFC 8032 seed.
  return { statement, signature: s.signSync('ed25519', SCALE_PROVIDER_SEED, s.providerSignedMessage(statement)) };
}
