/**
 * Vitest globalSetup of the Worker's directory tests (vitest.workers.config.ts), run in Node before the
 * workerd tests: creates the test keys, a test root CA and a provider leaf (test/pki.ts), starts the real
 * Node server (api/node/server.ts) on a temporary data directory holding those keys and that root, runs the
 * directory script (test/worker/directory-script.ts) against it over HTTP, and provides everything, the
 * Node server's answers included, to the workerd tests as the `ktDirectory` value (passed on as the
 * `KT_FIXTURE` binding; the keys also become the Worker's secrets).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { toBase64, toHex, utf8 } from '../wasm-free-crypto/bytes.js';
import { encodeSignerKey } from '../wasm-free-crypto/note.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { startServer } from '../api/node/server.js';
import { makeLeaf, makeRoot } from './pki.js';
import { runScript, scriptStatements, type DirectoryFixture } from './worker/directory-script.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ktDirectory: DirectoryFixture;
  }
}

const ORIGIN = 'example.com/kt-worker-directory-test';

export default async function setup(project: TestProject): Promise<void> {
  const root = await makeRoot();
  const leaf = await makeLeaf(root, { dnsNames: ['chat.example'] });
  const fixture: Omit<DirectoryFixture, 'node'> = {
    origin: ORIGIN,
    logSignerKey: encodeSignerKey(ORIGIN, sha256(utf8('kt-directory worker directory test log key'))),
    vrfSecretKeyHex: toHex(sha256(utf8('kt-directory worker directory test vrf key'))),
    operatorToken: 'worker-test-operator-token',
    rootPem: root.pem,
    rootKeyPkcs8: toBase64(new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', root.keys.privateKey))),
    provider: 'chat.example',
    leafPem: leaf.pem,
    statements: scriptStatements('chat.example', 'ed25519', leaf.secretKey, Date.now()),
  };

  // The Node server's data directory with these keys and root; epochs every 10 ms, no heartbeat meanwhile.
  const dir = mkdtempSync(join(tmpdir(), 'kt-worker-fixture-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), `${text}\n`, { mode: 0o600 });
  write(
    'config.json',
    JSON.stringify({
      origin: ORIGIN,
      devMode: false,
      trustedRoots: ['roots.pem'],
      epochIntervalMs: 10,
      heartbeatMs: 3_600_000,
    }),
  );
  write('log.key', fixture.logSignerKey);
  write('vrf.key', fixture.vrfSecretKeyHex);
  write('operator.token', fixture.operatorToken);
  write('roots.pem', root.pem);
  const server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
  try {
    const node = await runScript(
      (path, init) => fetch(`${server.url}${path}`, init),
      fixture,
      (res) => res,
    );
    project.provide('ktDirectory', { ...fixture, node });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
