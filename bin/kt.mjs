#!/usr/bin/env node
// The `kt` command: the compiled cli/kt.ts (`npm run build`, run by `npm ci` and `npm install`).
try {
  await import('../dist/cli/kt.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/kt.js')) throw e;
  console.error('kt: the compiled JavaScript is missing; run `npm run build` (or `npm ci`) in the project first');
  process.exitCode = 2;
}
