import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { assessRepository, detectOracle } from '../../src/plan/assess.js';
import { decide } from '../../src/plan/decide.js';
import { plannedArguments } from '../../src/plan/questions.js';
import { parsePlanRequest } from '../../src/plan/request.js';
import { ECOSYSTEMS, gitRepo, lsFiles } from './repos.js';

describe('assessment of real repositories', () => {
  test.each([
    [
      'a Node package',
      ECOSYSTEMS.node,
      { command: 'npm test', source: 'package.json scripts.test' },
      ['src/index.ts', 'src/util.ts'],
    ],
    [
      'a Python project',
      ECOSYSTEMS.python,
      { command: 'pytest', source: 'pytest configuration' },
      ['pkg/__init__.py', 'pkg/core.py'],
    ],
    [
      'a Go module',
      ECOSYSTEMS.go,
      { command: 'go test ./...', source: 'go.mod and _test.go files' },
      ['calc.go', 'main.go'],
    ],
    [
      'a Rust crate',
      ECOSYSTEMS.rust,
      { command: 'cargo test', source: 'Cargo.toml and #[test] functions' },
      ['src/lib.rs'],
    ],
    ['a repository with no tests', ECOSYSTEMS.noTests, null, ['src/app.js']],
  ])('%s', async (_kind, files, oracle, sources) => {
    const repo = gitRepo(files);
    writeFileSync(join(repo, 'untracked.js'), 'not counted');
    const a = await assessRepository(repo);
    expect(a.files).toBe(lsFiles(repo));
    expect(a.oracle).toEqual(oracle);
    expect(a.sourceFiles).toEqual(sources);
    expect(a.lines).toBe(
      Object.values(files).reduce((n, c) => n + c.split('\n').length - (c.endsWith('\n') ? 1 : 0), 0),
    );
    const verdict = decide(a, parsePlanRequest('audit'));
    expect(verdict.decision).toBe(oracle ? 'subagents' : 'stop');
  });

  test('this project itself: a Node package whose files match git ls-files and whose tests run with npm test', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const a = await assessRepository(root);
    expect(a.files).toBe(lsFiles(root));
    expect(a.oracle).toEqual({ command: 'npm test', source: 'package.json scripts.test' });
    expect(a.languages[0]!.language).toBe('TypeScript');
    expect(a.sourceFiles.some((f) => f.startsWith('test/'))).toBe(false);
    expect(decide(a, parsePlanRequest('audit')).decision).toBe('workflow');
  });

  test('the oracle a maintainer would type: make, then the package manager in use', () => {
    const repo = gitRepo({
      Makefile: 'build:\n\tcc x.c\n\ntest:\n\tpytest\n',
      'package.json': '{"scripts":{"test":"jest"}}',
    });
    expect(detectOracle(repo, ['Makefile', 'package.json'])).toEqual({
      command: 'make test',
      source: 'Makefile test target',
    });
    const pnpm = gitRepo({ 'package.json': '{"scripts":{"test":"jest"}}', 'pnpm-lock.yaml': '' });
    expect(detectOracle(pnpm, ['package.json', 'pnpm-lock.yaml'])?.command).toBe('pnpm test');
    const goNoTests = gitRepo({ 'go.mod': 'module m\n', 'main.go': 'package main\n' });
    expect(detectOracle(goNoTests, ['go.mod', 'main.go'])).toBeNull();
  });

  test('scope globs narrow the files; a configured test command wins; the baseline runs it', async () => {
    const repo = gitRepo({
      'package.json': JSON.stringify({ scripts: { test: 'node check.js' } }),
      'check.js': "console.log('# pass 2\\n# fail 1'); process.exit(1);\n",
      'src/a.js': '1\n',
      'src/gen/b.js': '2\n',
      'docs/x.md': '3\n',
    });
    const scoped = await assessRepository(repo, { include: ['src/**'], exclude: ['src/gen/**'] });
    expect([scoped.files, scoped.sourceFiles]).toEqual([1, ['src/a.js']]);
    const configured = await assessRepository(repo, {
      oracle: 'node check.js',
      baseline: true,
      env: { PATH: process.env.PATH },
    });
    expect(configured.oracle).toEqual({ command: 'node check.js', source: 'config' });
    expect(configured.baseline).toMatchObject({ passed: false, exitCode: 1, summary: '2 passed, 1 failed' });
  });
});

describe('the decision tree', () => {
  const assessment = (sourceFiles: number, oracle = true) => ({
    files: sourceFiles,
    lines: 10,
    languages: [],
    sourceFiles: Array.from({ length: sourceFiles }, (_, i) => `src/f${i}.js`),
    sourceTokens: 100,
    testFiles: 1,
    excluded: [],
    oracle: oracle ? { command: 'npm test', source: 'package.json scripts.test' } : null,
  });

  test('no oracle: stop, unless the configuration allows it or the request changes no code', () => {
    expect(decide(assessment(50, false), parsePlanRequest('audit'))).toEqual({
      decision: 'stop',
      stoppedBy: 'no-oracle',
      reasons: [
        'no test suite or other objective oracle was found: nothing could tell a real fix from a plausible one. Add tests (or configure oracle.command) and ask again.',
      ],
    });
    expect(decide(assessment(50, false), parsePlanRequest('audit'), { allowNoOracle: true }).decision).toBe(
      'workflow',
    );
    expect(decide(assessment(50, false), parsePlanRequest('research where is auth?')).decision).toBe(
      'workflow',
    );
  });

  test('a small scope gets subagents; a large one with state gets a workflow; without state, a goal', () => {
    expect(decide(assessment(3), parsePlanRequest('audit')).decision).toBe('subagents');
    expect(decide(assessment(40), parsePlanRequest('bug-hunt'))).toEqual({
      decision: 'workflow',
      reasons: [
        'objective oracle: `npm test` (from package.json scripts.test)',
        'massive fan-out: 40 source files in scope',
        'mid-run state: findings, verdicts and fixes are carried from phase to phase',
      ],
    });
    expect(
      decide(assessment(40), parsePlanRequest('make the tests pass'), { stateless: true }).decision,
    ).toBe('goal');
  });

  test('requests parse into kinds; ambiguous ones get at most four questions with defaults', () => {
    expect(parsePlanRequest('migrate CommonJS to ESM')).toEqual({
      kind: 'migrate',
      text: 'migrate CommonJS to ESM',
      target: 'CommonJS to ESM',
    });
    expect(parsePlanRequest('audit the auth module').kind).toBe('custom');
    expect(() => parsePlanRequest('migrate')).toThrow(
      'migrate needs a target, e.g. "migrate CommonJS to ESM"',
    );
    for (const request of ['audit', 'bug-hunt', 'sweep', 'migrate x to y', 'research why?', 'do something']) {
      const parsed = parsePlanRequest(request);
      const { questions } = plannedArguments(assessment(9), parsed, decide(assessment(9), parsed));
      expect(questions.length).toBeGreaterThan(0);
      expect(questions.length).toBeLessThanOrEqual(4);
      for (const q of questions) expect(q.assumed.length).toBeGreaterThan(10);
    }
  });
});
