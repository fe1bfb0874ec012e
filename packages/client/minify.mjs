// The browser bundles' last step (bundle.mjs; the bench's in-memory bundles, bench/client-bench.ts, so that
// their figures are made the same way): terser over esbuild's minified output. esbuild bundles and minifies
// fast; terser's compressor and its mangler, which gives the most used names the shortest, make the same code
// about 4% smaller gzipped (51,668 against 49,334 bytes for kt-client-full.js when this step was added).
// Only terser's safe transforms are on (no `unsafe*` option); the legal comments (`/*!`) are kept.
import { minify } from 'terser';

/** Options of terser's pass: two compress passes, ES2022 modules, the `/*!` comments kept. */
const TERSER = { module: true, ecma: 2022, compress: { passes: 2 }, mangle: true, format: { comments: /^!/ } };

/**
 * `code` made smaller by terser; with `map` (esbuild's source map of it), the map of the result, pointing back to
 * the sources, its comment naming `mapName`.
 */
export async function minifyBundle(code, map, mapName) {
  const sourceMap = map ? { content: map, url: mapName } : false;
  const out = await minify(code, { ...TERSER, sourceMap });
  return { code: out.code, map: typeof out.map === 'string' ? out.map : undefined };
}
