import { describe, expect, test } from 'vitest';
import { assessRepository } from '../../src/plan/assess.js';
import { decide } from '../../src/plan/decide.js';
import { createPlan } from '../../src/plan/plan.js';
import { parsePlanRequest } from '../../src/plan/request.js';
import { scopeGroup } from '../../src/plan/scope.js';
import { renderPlan } from '../../src/report/plan.js';
import { gitRepo } from './repos.js';
import { ITOA, ITSDANGEROUS, P_LIMIT, PFLAG, PFLAG_SOURCE_FILES, PFLAG_TEST_FILES } from './shapes.js';

/** Nothing a maintainer would call tests, docs, benchmarks, fuzz targets or dev tooling. */
const NOT_SOURCE =
  /(^|\/)(tests?|docs?|benches|fuzz|examples?|\.github|\.devcontainer|verify)\/|test|_bench|conf\.py$/;

const counts = (a: { excluded: Array<{ group: string; files: number }> }) =>
  Object.fromEntries(a.excluded.map((g) => [g.group, g.files]));

describe('scope by the conventions of each ecosystem, on the shapes of real repositories', () => {
  test.each([
    ['sindresorhus/p-limit', P_LIMIT, ['index.d.ts', 'index.js'], { tests: 2, ci: 3 }, 'xo && ava && tsd'],
    [
      'pallets/itsdangerous',
      ITSDANGEROUS,
      [
        'src/itsdangerous/__init__.py',
        'src/itsdangerous/_json.py',
        'src/itsdangerous/encoding.py',
        'src/itsdangerous/exc.py',
        'src/itsdangerous/serializer.py',
        'src/itsdangerous/signer.py',
        'src/itsdangerous/timed.py',
        'src/itsdangerous/url_safe.py',
      ],
      { tests: 5, docs: 12, ci: 10 },
      'pytest',
    ],
    ['spf13/pflag', PFLAG, PFLAG_SOURCE_FILES, { tests: PFLAG_TEST_FILES, ci: 6 }, 'go test ./...'],
    [
      'dtolnay/itoa',
      ITOA,
      ['src/lib.rs', 'src/udiv128.rs'],
      { tests: 1, benchmarks: 1, fuzz: 3, ci: 2 },
      'cargo test',
    ],
  ] as const)(
    '%s: only the code of the project is in scope; the rest is listed by group',
    async (_name, files, sources, excluded, oracle) => {
      const repo = gitRepo(files);
      const a = await assessRepository(repo);
      expect(a.sourceFiles).toEqual(sources);
      expect(a.sourceFiles.filter((f) => NOT_SOURCE.test(f))).toEqual([]);
      expect(counts(a)).toEqual(excluded);
      expect(a.testFiles).toBe(excluded.tests);
      if (oracle === 'xo && ava && tsd') expect(a.oracle?.command).toBe('npm test');
      else expect(a.oracle?.command).toBe(oracle);

      const text = renderPlan({
        request: parsePlanRequest('audit'),
        assessment: a,
        verdict: decide(a, parsePlanRequest('audit')),
        questions: [],
        script: null,
        scriptSha256: null,
        estimate: null,
      });
      expect(text).toContain(
        `${sources.length} source file${sources.length === 1 ? '' : 's'} in scope, ${excluded.tests} test file`,
      );
      expect(text).toMatch(/- left out of scope: tests \d+ \(`/);
    },
  );

  test('p-limit, as the plan says it: the tests are counted as tests, and the scope question names the two modules', async () => {
    const repo = gitRepo(P_LIMIT);
    const plan = await createPlan({ repoDir: repo, request: 'audit', model: 'claude-sonnet-5-5' });
    const text = renderPlan(plan);
    expect(text).toContain('2 source files in scope, 2 test files');
    expect(text).toContain(
      '- left out of scope: tests 2 (`index.test-d.ts`, `test.js`); CI and dev-container scripts 3 (`.github/funding.yml`, `.github/security.md`, `.github/workflows/main.yml`)',
    );
    expect(text).toContain(
      '1. Which files are in scope? Assumed: the 2 source files tracked by git (left out: tests, CI and dev-container scripts, and files that are not code).',
    );
  });

  test('every convention the issue names', () => {
    const cases: Array<[string, string | null]> = [
      ['test.js', 'tests'],
      ['src/a.test.ts', 'tests'],
      ['index.test-d.ts', 'tests'],
      ['flag_test.go', 'tests'],
      ['tests/test_core.py', 'tests'],
      ['pkg/test_core.py', 'tests'],
      ['pkg/core_test.py', 'tests'],
      ['pkg/conftest.py', 'tests'],
      ['src/__tests__/a.js', 'tests'],
      ['spec/models/user_spec.rb', 'tests'],
      ['docs/conf.py', 'docs'],
      ['doc/guide.md', 'docs'],
      ['benches/bench.rs', 'benchmarks'],
      ['bench/run.js', 'benchmarks'],
      ['benchmarks/parse.py', 'benchmarks'],
      ['benchmark/index.js', 'benchmarks'],
      ['parser_bench.go', 'benchmarks'],
      ['fuzz/fuzz_targets/f.rs', 'fuzz'],
      ['examples/basic.rs', 'examples'],
      ['example/main.go', 'examples'],
      ['.github/workflows/ci.yml', 'ci'],
      ['.devcontainer/on-create-command.sh', 'ci'],
      ['.circleci/config.yml', 'ci'],
      ['verify/all.sh', 'ci'],
      ['scripts/ci-release.js', 'ci'],
      ['vendor/github.com/x/y.go', 'vendored'],
      ['third_party/lib.c', 'vendored'],
      ['node_modules/x/index.js', 'vendored'],
      ['api/v1/service.pb.go', 'generated'],
      ['src/schema_generated.ts', 'generated'],
      ['dist/index.js', 'generated'],
      ['build/lib.js', 'generated'],
      ['src/index.ts', null],
      ['latest.js', null],
      ['src/workbench.ts', null],
      ['index.d.ts', null],
      ['build.rs', null],
      ['src/itsdangerous/signer.py', null],
    ];
    for (const [file, group] of cases) expect([file, scopeGroup(file)]).toEqual([file, group]);
  });

  test('.gitattributes: linguist-vendored, -generated and -documentation move files out; -attr and =false keep them in', async () => {
    const repo = gitRepo({
      '.gitattributes': [
        'lib/jquery.js linguist-vendored',
        'src/parser.js linguist-generated=true',
        'manual/** linguist-documentation',
        'vendor/ours/** -linguist-vendored',
        'docs/site.js linguist-documentation=false',
      ].join('\n'),
      'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
      'lib/jquery.js': 'x\n',
      'lib/app.js': 'x\n',
      'src/parser.js': 'x\n',
      'src/index.js': 'x\n',
      'manual/build.js': 'x\n',
      'vendor/ours/util.js': 'x\n',
      'vendor/theirs/util.js': 'x\n',
      'docs/site.js': 'x\n',
      'docs/guide.js': 'x\n',
    });
    const a = await assessRepository(repo);
    expect(a.sourceFiles).toEqual(['docs/site.js', 'lib/app.js', 'src/index.js', 'vendor/ours/util.js']);
    expect(counts(a)).toEqual({ docs: 2, generated: 1, vendored: 2 });
  });

  test('a repository with no source files does not ask about its scope: the verdict says there is nothing to work on', async () => {
    const repo = gitRepo({
      'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
      'README.md': '# notes\n',
      'docs/index.md': '# docs\n',
      'test/a.test.js': "import test from 'node:test';\ntest('a', () => {});\n",
    });
    const plan = await createPlan({ repoDir: repo, request: 'audit', model: 'claude-sonnet-5-5' });
    expect(plan.verdict).toMatchObject({ decision: 'stop', stoppedBy: 'no-source-files' });
    expect(plan.verdict.reasons[0]).toBe(
      'nothing to work on: no source files in scope (left out: tests 1, docs 1). If the code is there, widen scope.include in the configuration and ask again.',
    );
    expect(plan.questions).toEqual([]);
    expect(plan.script).toBeNull();
    expect(renderPlan(plan)).not.toContain('Which files are in scope?');
  });
});
