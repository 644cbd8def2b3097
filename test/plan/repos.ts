import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from '../helpers.js';

/** A real git repository in a temp dir, with these files committed. */
export function gitRepo(files: Record<string, string>): string {
  const dir = tempDir('dwf-repo-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return gitInit(dir);
}

/** Makes a directory a git repository with everything in it committed. */
export function gitInit(dir: string): string {
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init'], {
    cwd: dir,
  });
  return dir;
}

export function lsFiles(dir: string): number {
  return execFileSync('git', ['ls-files'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).length;
}

export const ECOSYSTEMS = {
  node: {
    'package.json': JSON.stringify({ name: 'lib', scripts: { test: 'vitest run' } }),
    'src/index.ts': 'export const add = (a: number, b: number) => a + b;\n',
    'src/util.ts': 'export const id = <T>(x: T) => x;\n',
    'test/index.test.ts': "import { add } from '../src/index';\n",
    'README.md': '# lib\n',
  },
  python: {
    'pyproject.toml': '[project]\nname = "pkg"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    'pkg/__init__.py': '',
    'pkg/core.py': 'def add(a, b):\n    return a + b\n',
    'tests/test_core.py': 'from pkg.core import add\n\ndef test_add():\n    assert add(1, 2) == 3\n',
  },
  go: {
    'go.mod': 'module example.com/m\n\ngo 1.22\n',
    'main.go': 'package main\n\nfunc main() {}\n',
    'calc.go': 'package main\n\nfunc Add(a, b int) int { return a + b }\n',
    'calc_test.go': 'package main\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {}\n',
  },
  rust: {
    'Cargo.toml': '[package]\nname = "c"\nversion = "0.1.0"\n',
    'src/lib.rs':
      'pub fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(1, 2), 3); }\n}\n',
  },
  noTests: {
    'package.json': JSON.stringify({
      name: 'app',
      scripts: { test: 'echo "Error: no test specified" && exit 1' },
    }),
    'src/app.js': 'console.log("hi");\n',
    'README.md': '# app\n',
  },
} as const;
