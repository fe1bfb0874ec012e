// The client package's browser bundles (`npm run build -w packages/client`, after tsc): single ES module
// files with @noble/* inlined, minified (esbuild, then terser: minify.mjs), for a web page that imports them
// with no bundler of its own.
// - dist/browser/kt-client.js: what a messaging client needs to look keys up (createClient, the stores,
//   the errors); its gzip size is the "lookup-only client" figure of `npm run bench`.
// - dist/browser/kt-client-full.js: that, and the owner monitor, the auditor with its enrolment check, the
//   evidence check and the lower-level verifier: the "whole client" figure.
// The entries are written here, not as barrel files in the sources: the sources keep subpath imports.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minifyBundle } from './minify.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
const js = (path) => `./dist/verifier/${path}.js`;

const LOOKUP = `
export { createClient } from '${js('client/client')}';
export { memoryStore, localStorageStore } from '${js('client/checkpoint-store')}';
export { PinsError } from '${js('client/pins')}';
export { MONITOR_START } from '${js('owner-monitor/owner-monitor')}';
export { VerifyError, ClientError } from '${js('verification/errors')}';
`;

const FULL = `${LOOKUP}
export { checkPins, toVerifierPins } from '${js('client/pins')}';
export { LookupClient } from '${js('lookup-client/lookup-client')}';
export { LookupVerifier } from '${js('verification/lookup-verifier')}';
export { CheckpointVerifier } from '${js('verification/checkpoint-policy')}';
export { monitorAccount } from '${js('owner-monitor/owner-monitor')}';
export { dailyCheck } from '${js('client/daily-check')}';
export { Auditor } from '${js('auditor/auditor')}';
export { checkEnrolment } from '${js('enrolment/enrolment-check')}';
export { parsePemCertificates } from '${js('enrolment/pem')}';
export { verifyEvidence } from '${js('verification/evidence')}';
`;

async function bundle(name, contents) {
  const outfile = `${dir}dist/browser/${name}.js`;
  const built = await build({
    stdin: { contents, resolveDir: dir, sourcefile: `${name}-entry.js` },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'external',
    legalComments: 'eof',
    outfile,
    write: false,
    logLevel: 'warning',
  });
  const text = (suffix) => built.outputFiles.find((f) => f.path.endsWith(suffix)).text;
  const out = await minifyBundle(text('.js'), text('.js.map'), `${name}.js.map`);
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, out.code);
  writeFileSync(`${outfile}.map`, out.map);
}

await bundle('kt-client', LOOKUP);
await bundle('kt-client-full', FULL);
