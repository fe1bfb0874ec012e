/**
 * The rooms of docs/ARCHITECTURE.md and what each may import, enforced from the source, import by import:
 * the rules are read from that page's table, every TypeScript file must be in a room the table names, and
 * every import (relative, package or platform module) must be of the file's own room or of one its rule
 * allows. The rules themselves must keep the verifier standing alone and the rooms free of cycles, and the
 * server's rooms may export no value that production code does not use.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryFiles, ROOT } from '../helpers/repository.js';

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

interface Rule {
  /** A folder (ending in '/') or a file. */
  room: string;
  allowed: string[];
}

/** The rows of ARCHITECTURE.md's rooms table: room(s), holds, may import. */
function readRules(markdown: string): Rule[] {
  const section = markdown.slice(
    markdown.indexOf('## The rooms'),
    markdown.indexOf('\n## ', markdown.indexOf('## The rooms') + 1),
  );
  const rules: Rule[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    if (cells.length !== 3 || !cells[0].startsWith('`')) continue;
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const room of names(cells[0])) rules.push({ room, allowed: names(cells[2]) });
  }
  return rules;
}

/** The room of a repository path: the longest rule that is the path or a folder holding it. */
function roomOf(rules: Rule[], path: string): Rule | undefined {
  const matches = rules.filter((r) => (r.room.endsWith('/') ? path.startsWith(r.room) : path === r.room));
  return matches.sort((a, b) => b.room.length - a.room.length)[0];
}

/** The package a bare specifier names: `hono/body-limit` -> `hono`, `@noble/curves/x.js` -> `@noble/curves`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Whether `allowed` (a room, `x/*`, a package or `scope:*`) covers the import target. */
function allows(allowed: string, target: { path?: string; room?: string; pkg?: string }): boolean {
  if (allowed === '*') return true;
  if (target.pkg !== undefined) {
    const pkg = target.pkg;
    return allowed === pkg || (allowed.endsWith('*') && pkg.startsWith(allowed.slice(0, -1)));
  }
  if (allowed.endsWith('/*')) return target.path!.startsWith(allowed.slice(0, -1));
  return target.room === allowed;
}

/** The imports of a file that its room's rule does not allow, as readable lines. */
function violations(rules: Rule[], file: string, text: string): string[] {
  const own = roomOf(rules, file);
  if (!own) return [`${file}: in no room of docs/ARCHITECTURE.md`];
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    let target: { path?: string; room?: string; pkg?: string };
    if (spec.startsWith('.')) {
      const path = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
      target = { path, room: roomOf(rules, path)?.room };
      if (target.room === own.room) continue;
    } else target = { pkg: spec.startsWith('node:') ? spec : packageOf(spec) };
    if (!own.allowed.some((a) => allows(a, target)))
      out.push(`${file}: imports ${spec} (${target.room ?? target.pkg ?? 'no room'})`);
  }
  return out;
}

const typeScriptFiles = () => repositoryFiles(/\.(c|m)?ts$/);

const RULES = readRules(readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8'));

describe('the rooms of docs/ARCHITECTURE.md', () => {
  it('are read from the page, each naming something that exists', () => {
    expect(RULES.length).toBeGreaterThan(15);
    for (const r of RULES) {
      const path = join(ROOT, r.room);
      expect(() => statSync(path), r.room).not.toThrow();
      expect(statSync(path).isDirectory(), r.room).toBe(r.room.endsWith('/'));
    }
  });

  it('hold every TypeScript file, and every import follows its room’s rule', () => {
    const files = typeScriptFiles();
    expect(files.length).toBeGreaterThan(150);
    const bad = files.flatMap((f) => violations(RULES, f, readFileSync(join(ROOT, f), 'utf8')));
    expect(bad).toEqual([]);
  });

  it('keep the verifier standing alone: verifier/ reaches only itself, wasm-free-crypto/ and @noble/*, but for verifier/node/', () => {
    const reach = new Set<string>();
    const visit = (room: string) => {
      for (const a of RULES.find((r) => r.room === room)?.allowed ?? []) {
        const rooms = a.endsWith('/*')
          ? RULES.filter((r) => r.room.startsWith(a.slice(0, -1))).map((r) => r.room)
          : [a];
        for (const next of rooms) {
          if (reach.has(next)) continue;
          reach.add(next);
          visit(next);
        }
      }
    };
    // verifier/node/ (the client's file store, for Node only) is the one exception, and no room reaches it.
    for (const r of RULES.filter((r) => r.room.startsWith('verifier/') && r.room !== 'verifier/node/')) visit(r.room);
    expect([...reach].filter((x) => !/^(verifier\/|wasm-free-crypto\/$|@noble\/\*$)/.test(x))).toEqual([]);
    expect(reach.has('verifier/node/')).toBe(false);
    expect(RULES.find((r) => r.room === 'verifier/node/')?.allowed).toEqual(['verifier/client/', 'node:*']);
  });

  it('have no cycle between rooms', () => {
    const edges = (room: string) =>
      (RULES.find((r) => r.room === room)?.allowed ?? []).flatMap((a) =>
        a.endsWith('/*') ? RULES.filter((r) => r.room.startsWith(a.slice(0, -1))).map((r) => r.room) : [a],
      );
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const walk = (room: string, path: string[]) => {
      if (state.get(room) === 'done') return;
      if (state.get(room) === 'open') return void cycles.push([...path, room].join(' -> '));
      state.set(room, 'open');
      for (const next of edges(room))
        if (next !== room && RULES.some((r) => r.room === next)) walk(next, [...path, room]);
      state.set(room, 'done');
    };
    for (const r of RULES) walk(r.room, []);
    expect(cycles).toEqual([]);
  });

  it('let the server rooms (log/, api/, cli/) export no value that production code does not use', () => {
    const production = typeScriptFiles().filter((f) => !/^(test|bench)\/|^vitest\./.test(f));
    const texts = production.map((f) => readFileSync(join(ROOT, f), 'utf8'));
    const unused: string[] = [];
    production.forEach((file, i) => {
      if (!/^(log|api|cli)\//.test(file)) return;
      for (const m of texts[i].matchAll(/^export (?:async )?(?:function|class|const|let|enum) (\w+)/gm)) {
        const word = new RegExp(`\\b${m[1]}\\b`, 'g');
        const uses = texts.reduce((n, t) => n + (t.match(word)?.length ?? 0), 0);
        if (uses < 2) unused.push(`${file}: ${m[1]}`);
      }
    });
    expect(unused).toEqual([]);
  });

  it('catch an import across a rule, a platform import and a file in no room', () => {
    expect(
      violations(RULES, 'verifier/formats/x.ts', "import { LogAppender } from '../../log/merkle/appender.js';"),
    ).toEqual(['verifier/formats/x.ts: imports ../../log/merkle/appender.js (log/merkle/)']);
    expect(violations(RULES, 'log/merkle/x.ts', "import { readFileSync } from 'node:fs';")).toHaveLength(1);
    expect(violations(RULES, 'log/merkle/x.ts', "import Database from 'better-sqlite3';")).toHaveLength(1);
    expect(violations(RULES, 'log/merkle/sqlite-storage.ts', "import Database from 'better-sqlite3';")).toEqual([]);
    expect(violations(RULES, 'api/app/x.ts', "import type { Env } from '../worker/worker.js';")).toHaveLength(1);
    expect(violations(RULES, 'api/worker/x.ts', "import { DurableObject } from 'cloudflare:workers';")).toEqual([]);
    expect(
      violations(
        RULES,
        'log/directory/x.ts',
        "import { x } from './directory.js';\nimport { y } from '../merkle/reader.js';",
      ),
    ).toEqual([]);
    expect(violations(RULES, 'elsewhere/x.ts', '')).toEqual(['elsewhere/x.ts: in no room of docs/ARCHITECTURE.md']);
  });
});
