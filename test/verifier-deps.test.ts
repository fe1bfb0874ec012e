/**
 * The verifier stands alone (issue 5, DESIGN.md): every module in verifier/ imports only other verifier
 * modules, wasm-free-crypto/ and @noble/*, and wasm-free-crypto/ only itself and @noble/*, so that the
 * verifier runs unchanged in Node, browsers and Workers. Checked from the source, import by import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function importsOf(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const f of readdirSync(new URL(`../${dir}/`, import.meta.url)).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(new URL(`../${dir}/${f}`, import.meta.url), 'utf8');
    for (const m of text.matchAll(IMPORT)) out.push([`${dir}/${f}`, m[1] ?? m[2] ?? m[3]]);
  }
  return out;
}

describe('verifier dependencies', () => {
  it('verifier/ imports only itself, wasm-free-crypto/ and @noble/*', () => {
    const imports = importsOf('verifier');
    expect(imports.length).toBeGreaterThan(20);
    const bad = imports.filter(
      ([, spec]) =>
        !/^(\.\/[\w-]+\.js|\.\.\/wasm-free-crypto\/[\w-]+\.js|@noble\/(hashes|curves)\/[\w./-]+\.js)$/.test(spec),
    );
    expect(bad).toEqual([]);
  });

  it('wasm-free-crypto/ imports only itself and @noble/*', () => {
    const bad = importsOf('wasm-free-crypto').filter(
      ([, spec]) => !/^(\.\/[\w-]+\.js|@noble\/(hashes|curves)\/[\w./-]+\.js)$/.test(spec),
    );
    expect(bad).toEqual([]);
  });
});
