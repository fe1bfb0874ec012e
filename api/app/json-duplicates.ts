/**
 * Duplicate member names in JSON text. RFC 8259 section 4 says the names within an object SHOULD be unique and
 * leaves what a reader does with two of one name to the reader; I-JSON (RFC 7493 section 2.3) says they MUST be.
 * `JSON.parse` keeps the last, where another reader of the same body (a proxy that filters requests, a log,
 * another implementation) may keep the first: so a request body that names one member twice in one object is
 * refused rather than read one way here and another way there (request-fields.ts, `jsonBody`). The text must
 * already have parsed as JSON: this walks only its brackets and strings. Names are compared as JSON.parse decodes
 * them, so `"a"` and `"\u0061"` are the same name.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The first name that one object of `json` (valid JSON text) has twice, or undefined. */
export function duplicateName(json: string): string | undefined {
  const objects: (Set<string> | null)[] = []; // the names of each object open, null for an array
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b) objects.push(new Set());
    else if (c === 0x5b) objects.push(null);
    else if (c === 0x7d || c === 0x5d) objects.pop();
    else if (c === QUOTE) {
      const end = stringEnd(json, i);
      const names = objects[objects.length - 1];
      if (names && followedByColon(json, end + 1)) {
        const token = json.slice(i, end + 1);
        const name: string = token.includes('\\') ? JSON.parse(token) : token.slice(1, -1);
        if (names.has(name)) return name;
        names.add(name);
      }
      i = end;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opened at `start`: the next one after an even run of backslashes. */
function stringEnd(json: string, start: number): number {
  let end = start;
  for (;;) {
    end = json.indexOf('"', end + 1);
    let escapes = 0;
    while (json.charCodeAt(end - 1 - escapes) === BACKSLASH) escapes++;
    if (escapes % 2 === 0) return end;
  }
}

/** Whether the next character of `json` from `from` that is not JSON white space is a colon (a member's name). */
function followedByColon(json: string, from: number): boolean {
  for (let i = from; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c === 0x3a;
  }
  return false;
}
