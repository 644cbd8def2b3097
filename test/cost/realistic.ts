/**
 * The shapes of test/plan/shapes.ts with realistic contents: each source and test file at about the
 * size it has in the real repository (line counts from the upstream trees: spf13/pflag 1.0.6,
 * pallets/itsdangerous 2.2.0, sindresorhus/p-limit 6.2.0), its real local imports, and code of the
 * language's ordinary density. The contents are generated, not copied: what matters to the cost is
 * the size, the imports and the shape.
 */
import { ITSDANGEROUS, P_LIMIT, PFLAG } from '../plan/shapes.js';

function goBody(name: string, lines: number, test: boolean): string {
  const id = name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase());
  const out = ['package pflag', '', 'import (', '\t"fmt"', '\t"strconv"', '\t"strings"', ')', ''];
  for (let i = 0; out.length < lines; i++) {
    if (test) {
      out.push(
        `func Test${id}Case${i}(t *testing.T) {`,
        '\tf := NewFlagSet("test", ContinueOnError)',
        `\tv := f.${id}("flag${i}", nil, "usage of flag ${i}")`,
        `\tif err := f.Parse([]string{"--flag${i}=value${i}"}); err != nil {`,
        '\t\tt.Fatal("expected no error; got", err)',
        '\t}',
        `\tif got := fmt.Sprint(*v); !strings.Contains(got, "value${i}") {`,
        `\t\tt.Errorf("expected value${i}, got %q", got)`,
        '\t}',
        '}',
        '',
      );
    } else {
      out.push(
        `// ${id.toLowerCase()}Value${i} converts the textual form of the flag into its typed value and`,
        '// reports a parse error with the flag name, so that the caller can print usage.',
        `func (s *${id.toLowerCase()}Value) Set${i}(val string) error {`,
        '\tv, err := strconv.ParseInt(strings.TrimSpace(val), 0, 64)',
        '\tif err != nil {',
        `\t\treturn fmt.Errorf("invalid argument %q for ${name}: %w", val, err)`,
        '\t}',
        `\t*s = ${id.toLowerCase()}Value(v)`,
        '\treturn nil',
        '}',
        '',
      );
    }
  }
  return `${out.slice(0, lines).join('\n')}\n`;
}

function pyBody(name: string, lines: number, imports: string[]): string {
  const out = ['from __future__ import annotations', '', 'import hashlib', 'import typing as t', ''];
  for (const i of imports) out.push(`from .${i} import ${i}_helper`);
  out.push('');
  for (let i = 0; out.length < lines; i++) {
    out.push(
      `class ${name.replace(/^_/, '').replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}Part${i}:`,
      `    """Signs and checks values for part ${i}; the key is derived with the salt each time."""`,
      '',
      '    def __init__(self, secret_key: str | bytes, salt: str | bytes | None = b"itsdangerous") -> None:',
      '        self.secret_keys = [secret_key] if isinstance(secret_key, (str, bytes)) else list(secret_key)',
      '        self.salt = salt',
      '',
      '    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:',
      '        key = self.secret_keys[-1] if secret_key is None else secret_key',
      '        return hashlib.sha1(self.salt + b"signer" + key).digest()',
      '',
    );
  }
  return `${out.slice(0, lines).join('\n')}\n`;
}

function jsBody(lines: number, types: boolean): string {
  const out = types
    ? ['export type LimitFunction = {', '\treadonly activeCount: number;', '\treadonly pendingCount: number;']
    : [
        "import Queue from 'yocto-queue';",
        '',
        'export default function pLimit(concurrency) {',
        '\tvalidateConcurrency(concurrency);',
        '\tconst queue = new Queue();',
        '\tlet activeCount = 0;',
      ];
  for (let i = 0; out.length < lines - 1; i++) {
    if (types)
      out.push(
        '',
        '\t/**',
        `\tGet or set the concurrency limit (${i}).`,
        '\t*/',
        `\tconcurrency${i}: number;`,
      );
    else
      out.push(
        '',
        `\tconst resumeNext${i} = () => {`,
        '\t\tif (activeCount < concurrency && queue.size > 0) {',
        '\t\t\tqueue.dequeue()();',
        '\t\t\tactiveCount++;',
        '\t\t}',
        '\t};',
      );
  }
  out.push(types ? '};' : '}');
  return `${out.join('\n')}\n`;
}

const PFLAG_LINES: Record<string, number> = {
  flag: 1270,
  bytes: 210,
  bool_slice: 185,
  ip_slice: 185,
  golangflag: 160,
  errors: 150,
  ipnet_slice: 145,
  string_array: 130,
  ipmask: 120,
  time: 120,
  func: 40,
  count: 95,
  bool: 95,
  ip: 95,
  ipnet: 95,
};
const pflagLines = (name: string) =>
  PFLAG_LINES[name] ?? (name.endsWith('_slice') ? 165 : name.startsWith('string_to') ? 160 : 88);

/** spf13/pflag with sizes: 41 source files (flag.go 1270 lines), 29 test files. */
export function realisticPflag(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, content] of Object.entries(PFLAG)) {
    if (!path.endsWith('.go')) out[path] = content;
    else if (path.endsWith('_test.go')) {
      const name = path.slice(0, -'_test.go'.length);
      out[path] = goBody(name, name === 'flag' ? 1300 : 240, true).replace(
        'import (',
        'import (\n\t"testing"',
      );
    } else out[path] = goBody(path.slice(0, -3), pflagLines(path.slice(0, -3)), false);
  }
  return out;
}

const PY: Record<string, [number, string[]]> = {
  __init__: [45, ['encoding', 'exc', 'serializer', 'signer', 'timed', 'url_safe']],
  _json: [18, []],
  encoding: [55, ['exc']],
  exc: [105, []],
  serializer: [405, ['_json', 'encoding', 'exc', 'signer']],
  signer: [265, ['encoding', 'exc']],
  timed: [230, ['encoding', 'exc', 'serializer', 'signer']],
  url_safe: [85, ['_json', 'encoding', 'exc', 'serializer', 'timed']],
};

/** pallets/itsdangerous with sizes: 8 modules (serializer.py 405 lines), 5 test modules. */
export function realisticItsdangerous(): Record<string, string> {
  const out: Record<string, string> = { ...ITSDANGEROUS };
  for (const [name, [lines, imports]] of Object.entries(PY))
    out[`src/itsdangerous/${name}.py`] = pyBody(name, lines, imports);
  for (const path of Object.keys(out).filter((p) => p.startsWith('tests/')))
    out[path] = pyBody('test', 160, []).replace('from __future__', 'import pytest\nfrom __future__');
  return out;
}

/** sindresorhus/p-limit with sizes: index.js 115 lines, index.d.ts 60, tests 250 and 20. */
export function realisticPLimit(): Record<string, string> {
  return {
    ...P_LIMIT,
    'index.js': jsBody(115, false),
    'index.d.ts': jsBody(60, true),
    'test.js': `import test from 'ava';\nimport pLimit from './index.js';\n${"\ntest('concurrency', async t => {\n\tconst limit = pLimit(1);\n\tt.is(limit.activeCount, 0);\n});\n".repeat(40)}`,
  };
}

export const SHAPES = [
  { name: 'pflag (Go, spf13/pflag)', files: realisticPflag },
  { name: 'itsdangerous (Python, pallets/itsdangerous)', files: realisticItsdangerous },
  { name: 'p-limit (JavaScript, sindresorhus/p-limit)', files: realisticPLimit },
] as const;
