/**
 * The verifier stands alone (issue 5, DESIGN.md): every module in verifier/ imports only other verifier
 * modules, wasm-free-crypto/ and @noble/*, and wasm-free-crypto/ only itself and @noble/*, so that the
 * verifier runs unchanged in Node, browsers and Workers. Checked from the source, import by import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Every import of the .ts files under `dir`: [file, resolved path or package name]. */
function importsOf(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const file = join(dir, name);
    if (statSync(join(ROOT, file)).isDirectory()) out.push(...importsOf(file));
    else if (name.endsWith('.ts')) {
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3];
        out.push([file, spec.startsWith('.') ? normalize(join(dirname(file), spec)) : spec]);
      }
    }
  }
  return out;
}

describe('verifier dependencies', () => {
  it('verifier/ imports only itself, wasm-free-crypto/ and @noble/*', () => {
    const imports = importsOf('verifier');
    expect(imports.length).toBeGreaterThan(20);
    const bad = imports.filter(
      ([, to]) => !/^((verifier|wasm-free-crypto)\/[\w/-]+\.js|@noble\/(hashes|curves)\/[\w./-]+\.js)$/.test(to),
    );
    expect(bad).toEqual([]);
  });

  it('wasm-free-crypto/ imports only itself and @noble/*', () => {
    const bad = importsOf('wasm-free-crypto').filter(
      ([, to]) => !/^(wasm-free-crypto\/[\w-]+\.js|@noble\/(hashes|curves)\/[\w./-]+\.js)$/.test(to),
    );
    expect(bad).toEqual([]);
  });
});
