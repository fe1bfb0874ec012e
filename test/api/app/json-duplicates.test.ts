/**
 * The scan for member names given twice in one object of JSON text (api/app/json-duplicates.ts): cases written
 * out (escaped names, nested and sibling objects, quotes and colons inside values), and generated texts checked
 * against an independent reading, a recursive-descent tokenizer of the test's own.
 */
import { describe, expect, it } from 'vitest';
import { duplicateName } from '../../../api/app/json-duplicates.js';

describe('duplicateName', () => {
  it('finds a name twice in one object, wherever the object is', () => {
    const cases: [string, string][] = [
      ['{"a":1,"a":2}', 'a'],
      ['{"a":1,"b":{"c":1},"a":2}', 'a'],
      ['[{"x":[1,{"y":1,"y":1}]}]', 'y'],
      ['{"a":{"b":1,"b":2},"c":3}', 'b'],
      ['{ "a" : 1 , "a"\n:\t2 }', 'a'],
      ['{"a":1,"\\u0061":2}', 'a'], // the same name once decoded
      ['{"\\"":1,"\\u0022":2}', '"'],
      ['{"":1,"":2}', ''],
      ['{"a\\\\":1,"a\\\\":2}', 'a\\'],
      ['{"é":1,"\\u00e9":2}', 'é'],
    ];
    for (const [json, name] of cases) {
      expect(() => JSON.parse(json), json).not.toThrow();
      expect(duplicateName(json), json).toBe(name);
    }
  });

  it('finds none where each object names each member once', () => {
    const texts = [
      '{}',
      '[]',
      '"a"',
      '1',
      '{"a":"a","b":"a"}', // a value equal to a name
      '{"a":{"a":{"a":1}}}', // one name in nested objects
      '[{"a":1},{"a":2}]', // one name in sibling objects
      '{"a":"\\":","b":"x"}', // a value holding an escaped quote and a colon
      '{"a":["b",":","b"],"b":1}', // strings in an array followed by a colon in a string
      '{"a\\\\":1,"a":2}', // a backslash ends the first name
      '{"a":"\\\\","a\\"":2}',
      '{"A":1,"a":2}', // names are case-sensitive
      '{"\\u00e9":1,"e\\u0301":2}', // canonically equivalent, but other code points
    ];
    for (const json of texts) {
      expect(() => JSON.parse(json), json).not.toThrow();
      expect(duplicateName(json), json).toBeUndefined();
    }
  });

  it('agrees with an independent count on generated texts', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const names = ['a', 'b', '\\u0061', 'a\\\\', '\\"', ':', ' '];
    const value = (depth: number): string => {
      const kind = depth === 0 ? 4 : random(depth > 2 ? 3 : 5);
      if (kind === 0) return String(random(100));
      if (kind === 1) return JSON.stringify(names[random(names.length)]);
      if (kind === 2) return '"x\\\\"';
      if (kind === 3) return `[${Array.from({ length: random(3) }, () => value(depth + 1)).join(',')}]`;
      return `{${Array.from({ length: random(4) + (depth === 0 ? 2 : 0) }, () => `"${names[random(names.length)]}":${value(depth + 1)}`).join(',')}}`;
    };
    let both = 0;
    for (let n = 0; n < 2_000; n++) {
      const json = value(0);
      const expected = firstRepeated(json);
      expect(duplicateName(json), json).toBe(expected);
      if (expected !== undefined) both++;
    }
    expect(both).toBeGreaterThan(100);
    expect(both).toBeLessThan(1_900);
  });
});

/**
 * The independent reading: a recursive-descent tokenizer that decodes every name with JSON.parse and reports the
 * first repeated one in document order of the repeat.
 */
function firstRepeated(json: string): string | undefined {
  let i = 0;
  let found: string | undefined;
  const ws = () => {
    while (/\s/.test(json[i] ?? '')) i++;
  };
  const str = (): string => {
    const start = i++;
    while (json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(json.slice(start, i));
  };
  const val = (): void => {
    ws();
    if (json[i] === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      while (json[i] !== '}') {
        ws();
        const name = str();
        if (seen.has(name) && found === undefined) found = name;
        seen.add(name);
        ws();
        i++; // ':'
        val();
        ws();
        if (json[i] === ',') i++;
        ws();
      }
      i++;
    } else if (json[i] === '[') {
      i++;
      ws();
      while (json[i] !== ']') {
        val();
        ws();
        if (json[i] === ',') i++;
      }
      i++;
    } else if (json[i] === '"') str();
    else while (/[-0-9.eE+a-z]/.test(json[i] ?? '')) i++;
  };
  val();
  return found;
}
