/**
 * Corrections to @cloudflare/workers-types for the shared code the Worker bundles (tsconfig.worker.json
 * only): workerd has `globalThis.crypto` (the types declare it as a `const`, which `typeof globalThis` does
 * not list), and its TextDecoder takes `{ fatal: true }` alone (the types require both options).
 */
declare var crypto: Crypto;
interface TextDecoderConstructorOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}
