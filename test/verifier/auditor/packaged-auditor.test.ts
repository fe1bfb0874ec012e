/**
 * The auditor as the client package ships it catches an enrolment forged under a provider's name on its own:
 * a child process (test/fixtures/packaged-audit.ts) loads only verifier/, wasm-free-crypto/ and @noble/*
 * (a module hook fails any other import, @peculiar/x509 included) and audits a log whose operator enrolled
 * its own key for "chat.example" under a root of its own; against the real roots it fails with
 * `bad_enrolment`, against the operator's it passes. And the enrolment check cannot be left out by omission:
 * without `enrolment` the auditor is not made, and `'unchecked'` is reported in the result.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { Auditor, type AuditorOptions } from '../../../verifier/auditor/auditor.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
} from '../../helpers/directory.js';
import { ORIGIN } from '../../helpers/log.js';
import { makeRoot } from '../../helpers/pki.js';

const CHILD = fileURLToPath(new URL('../../fixtures/packaged-audit.ts', import.meta.url));
const LOG_URL = 'http://kt.test/log';
const checkpoints = () =>
  new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) });

/** Runs the child with `input` on stdin and returns its JSON line. */
function runChild(input: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (status) =>
      status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${status}: ${err}`)),
    );
    child.stdin.end(JSON.stringify(input));
  });
}

describe('the packaged auditor', () => {
  it("catches an enrolment forged under a provider's name with no X.509 library loaded", async () => {
    const realRoot = await makeRoot();
    const t = await openTestDirectory({ root: await makeRoot() }); // the operator trusts a root of its own
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'ann@chat.example', 1, [identityKey()], t.clock.now)));
    const app = appOver(t);
    const responses: Record<string, string> = {};
    const recording = async (url: string) => {
      const res = await app.request(url);
      const body = new Uint8Array(await res.arrayBuffer());
      if (res.status === 200) responses[url] = toBase64(body);
      return new Response(body as Uint8Array<ArrayBuffer>, { status: res.status });
    };
    const unchecked = await new Auditor({
      logUrl: LOG_URL,
      checkpoints: checkpoints(),
      enrolment: 'unchecked',
      fetch: recording,
    }).audit();
    expect(unchecked.enrolments).toEqual({ checked: false, read: 1, uncheckedEarlier: 0 });
    const result = await runChild({
      responses,
      logUrl: LOG_URL,
      origin: ORIGIN,
      logKey: logSignerForTests.verifierKey,
      roots: {
        real: [toBase64(realRoot.der)],
        operator: [toBase64(t.root.der)],
        both: [toBase64(realRoot.der), toBase64(t.root.der)],
      },
    });
    expect(result).toEqual({
      hookWorks: true,
      reflectMetadata: false,
      outcomes: {
        real: 'bad_enrolment',
        operator: 'accepted, 1 enrolment checked',
        both: 'accepted, 1 enrolment checked',
      },
    });
  });

  it('is not made without an enrolment check or an explicit opt-out, nor with unusable roots', () => {
    const base = { logUrl: LOG_URL, checkpoints: checkpoints() };
    expect(() => new Auditor(base as AuditorOptions)).toThrow(TypeError);
    expect(() => new Auditor({ ...base, enrolment: {} } as unknown as AuditorOptions)).toThrow(TypeError);
    expect(() => new Auditor({ ...base, enrolment: { trustedRoots: [] } })).toThrow(
      expect.objectContaining({ code: 'cert_untrusted' }),
    );
    expect(() => new Auditor({ ...base, enrolment: { trustedRoots: [new Uint8Array([0x30, 0])] } })).toThrow(
      expect.objectContaining({ code: 'cert_parse' }),
    );
  });
});
