import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { tsPlugin } from '@sveltejs/acorn-typescript';
import { Parser } from 'acorn';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');

/**
 * The layers of src/, from the bottom (docs/architecture.md). A folder imports its own files and
 * folders of lower layers only: never one above it, nor another folder of its own layer (so the
 * doors, app, action and cli, never import each other).
 */
const LAYERS: string[][] = [
  ['script', 'models', 'types'],
  ['agents'],
  ['engine'],
  ['plan'],
  ['report'],
  ['flows'],
  ['github'],
  ['app', 'action', 'cli'],
];

/**
 * Imports that break the order, each with why it is still there (none today). The test fails on
 * any other violation, and on an exception that no longer occurs (then delete it here and in the docs).
 */
const EXCEPTIONS: Record<string, string> = {};

const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative module a file imports: `import ... from`, `export ... from`, `import '...'`, `import('...')`. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gms),
    ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)));
}

/** The folder of src/ a path is in. */
const folderOf = (path: string) => relative(src, path).split(/[\\/]/)[0]!;

const edges = sourceFiles(src).flatMap((file) =>
  importsOf(file).map((target) => ({
    file: relative(root, file),
    target: relative(root, target),
    from: folderOf(file),
    to: folderOf(target),
  })),
);

describe('import layering', () => {
  test('the imports are read: every folder of src/ imports something or is imported', () => {
    expect(edges.length).toBeGreaterThan(100);
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    for (const folder of folders)
      expect(layerOf(folder), `src/${folder} has no layer`).toBeGreaterThanOrEqual(0);
  });

  test('no folder imports a folder above it or beside it, but the named exceptions', () => {
    const violations = edges.filter((e) => e.from !== e.to && layerOf(e.to) >= layerOf(e.from));
    const unexpected = violations
      .filter((v) => !(`${v.from} -> ${v.to}` in EXCEPTIONS))
      .map(
        (v) =>
          `${v.file} imports ${v.target} (${v.from} is layer ${layerOf(v.from)}, ${v.to} ${layerOf(v.to)})`,
      );
    expect(unexpected).toEqual([]);
    const seen = new Set(violations.map((v) => `${v.from} -> ${v.to}`));
    const stale = Object.keys(EXCEPTIONS).filter((pair) => !seen.has(pair));
    expect(stale, 'exceptions that no longer occur: remove them here and in docs/architecture.md').toEqual(
      [],
    );
  });

  test('the architecture page lists the same exceptions', () => {
    const page = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    for (const pair of Object.keys(EXCEPTIONS)) expect(page).toContain(`\`${pair.replace(' -> ', ' → ')}\``);
  });
});

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 120;
const TypeScriptParser = Parser.extend(tsPlugin());

interface Located {
  type: string;
  loc?: { start: { line: number }; end: { line: number } };
}

/** Every function of a file (declarations, expressions, arrows, methods) with its first line and length. */
function functionsOf(file: string): Array<{ line: number; lines: number }> {
  const ast = TypeScriptParser.parse(readFileSync(file, 'utf8'), {
    ecmaVersion: 'latest',
    sourceType: 'module',
    locations: true,
  });
  const found: Array<{ line: number; lines: number }> = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const { type, loc } = node as Located;
    if (typeof type === 'string' && type.includes('Function') && loc)
      found.push({ line: loc.start.line, lines: loc.end.line - loc.start.line + 1 });
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
  };
  visit(ast);
  return found;
}

describe('sizes', () => {
  const files = sourceFiles(src).filter((file) => !file.endsWith('.d.ts'));

  test(`no file of src/ over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  test(`no function of src/ over ${MAX_FUNCTION_LINES} lines`, () => {
    const all = files.flatMap((file) => functionsOf(file).map((f) => ({ file: relative(root, file), ...f })));
    // The parser sees the functions: this file's own helpers are among them.
    expect(all.length).toBeGreaterThan(500);
    expect(all.filter((f) => f.lines > MAX_FUNCTION_LINES)).toEqual([]);
  });
});
