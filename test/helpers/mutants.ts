/**
 * Every single-field mutation of a proof-shaped value, for tamper tests that expect each to be refused with the
 * code of the field it changed: one bit of each byte of a byte string (bit i mod 8 of byte i), each character
 * of a string replaced (by 'A', or 'B' for an 'A'), each number moved by one either way, and, for a list, its
 * first item dropped and its first item repeated at its end. Each mutant names its path (`.lookups[0].map[3]`).
 */
export type Mutant = { path: string; value: unknown };

/** Every single-field mutation: one bit of each byte, each character of a string, a number moved by one. */
export function mutants(value: unknown, path = ''): Mutant[] {
  if (value instanceof Uint8Array)
    return [...value].map((_, i) => {
      const m = value.slice();
      m[i] ^= 1 << (i % 8);
      return { path: `${path}[${i}]`, value: m };
    });
  if (typeof value === 'number')
    return [1, -1].map((d) => ({ path: `${path}${d > 0 ? '+' : '-'}1`, value: value + d }));
  if (typeof value === 'string')
    return [...value].map((c, i) => ({
      path: `${path}@${i}`,
      value: value.slice(0, i) + (c === 'A' ? 'B' : 'A') + value.slice(i + 1),
    }));
  if (Array.isArray(value)) {
    const inner = value.flatMap((v, i) =>
      mutants(v, `${path}[${i}]`).map((m) => ({ path: m.path, value: value.map((x, j) => (j === i ? m.value : x)) })),
    );
    if (value.length === 0) return inner;
    return [
      ...inner,
      { path: `${path} dropped`, value: value.slice(1) },
      { path: `${path} extended`, value: [...value, value[0]] },
    ];
  }
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) =>
      mutants(v, `${path}.${k}`).map((m) => ({ path: m.path, value: { ...value, [k]: m.value } })),
    );
  return [];
}
