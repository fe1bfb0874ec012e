/**
 * Vitest globalSetup of the Worker's witnessing test (vitest.workers.config.ts, project `witnessed`), run in
 * Node: starts a C2SP witness over HTTP (api/app/witness-app.ts) on a free port for the test log, and makes the
 * test keys and root, which become the Worker's secrets and vars (WITNESSES names the witness) and the
 * `ktWitnessed` value the workerd test reads. The witness stops when the run ends.
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { toHex, utf8 } from '../wasm-free-crypto/bytes.js';
import { cosigner } from '../wasm-free-crypto/cosignature.js';
import { encodeSignerKey, parseSignerKey, parseVerifierKey } from '../wasm-free-crypto/note.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { MemoryWitnessStore, Witness } from '../verifier/witness/witness.js';
import { witnessApp } from '../api/app/witness-app.js';
import { makeRoot } from './pki.js';

export interface WitnessedFixture {
  origin: string;
  logSignerKey: string;
  vrfSecretKeyHex: string;
  rootPem: string;
  witnessUrl: string;
  witnessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    ktWitnessed: WitnessedFixture;
  }
}

const ORIGIN = 'example.com/kt-worker-witnessed-test';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logSignerKey = encodeSignerKey(ORIGIN, sha256(utf8('kt-directory worker witnessed test log key')));
  const w = cosigner('witness.example/worker-test', sha256(utf8('worker test witness')));
  const witness = new Witness({
    cosigner: w,
    store: new MemoryWitnessStore(),
    logs: [{ origin: ORIGIN, keys: [parseVerifierKey(parseSignerKey(logSignerKey).verifierKey)] }],
  });
  const { server, url } = await new Promise<{ server: ReturnType<typeof serve>; url: string }>((resolve) => {
    const server = serve({ fetch: witnessApp(witness).fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
  const root = await makeRoot();
  project.provide('ktWitnessed', {
    origin: ORIGIN,
    logSignerKey,
    vrfSecretKeyHex: toHex(sha256(utf8('kt-directory worker witnessed test vrf key'))),
    rootPem: root.pem,
    witnessUrl: url,
    witnessKey: w.verifierKey,
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
