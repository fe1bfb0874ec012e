/**
 * The seed of the Ed25519 key the scale build enrols its provider `chat.example` under (scale-build.ts), in a
 * module of its own with no imports: the cold start bench's child signs rotations with it and is bundled to
 * run without tsx (cold-start-bench.ts), so it imports nothing that would bring server code into its bundle.
 */
export const SCALE_PROVIDER_SEED: Uint8Array = new Uint8Array(32).fill(0x6b);
