// The explorer's build (`npm run build`, after tsc): one classic script (IIFE, so that the page also works
// opened as a local file, where browsers refuse module scripts) bundled with esbuild from explorer/app/main.ts
// with the verifier inlined, minified, and the compact SHA-256 and SHA-512 the client package's browser bundles use;
// the page and its style sheet copied beside it. Output: dist/explorer/{index.html,explorer.js,explorer.css}.
// `node explorer/build.mjs OUTDIR` writes elsewhere (tests).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = process.argv[2] ?? fileURLToPath(new URL('../dist/explorer/', import.meta.url));

/** Resolves wasm-free-crypto/sha{256,512}.js to sha*-compact.ts, as the client package's `browser` field does. */
const compactSha2 = {
  name: 'compact-sha2',
  setup(b) {
    b.onResolve({ filter: /\/sha(256|512)\.js$/ }, (args) => ({
      path: fileURLToPath(new URL(args.path.replace(/\.js$/, '-compact.ts'), `file://${args.resolveDir}/`)),
    }));
  },
};

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${here}app/main.ts`],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'eof',
  outfile: `${out}/explorer.js`,
  plugins: [compactSha2],
  logLevel: 'warning',
});
copyFileSync(`${here}page/index.html`, `${out}/index.html`);
copyFileSync(`${here}page/explorer.css`, `${out}/explorer.css`);
