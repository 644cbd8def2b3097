import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readTestOutput, summarizeOutcome } from '../../src/agents/test-output.js';
import { assessRepository } from '../../src/plan/assess.js';
import { createPlan } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/report/plan.js';
import { dwfInProcess } from '../helpers.js';
import { gitRepo } from './repos.js';
import { ITOA, ITSDANGEROUS } from './shapes.js';

// The baseline runs repository code: isolated, as in production (these tests run as root or with
// passwordless sudo, like the rest of test/plan's baselines).
const env = { PATH: process.env.PATH };

const dwf = (argv: string[]) => dwfInProcess(argv, process.cwd());

beforeEach(() => nock.disableNetConnect());
afterEach(() => nock.enableNetConnect());

const RUSTUP = [
  "error: rustup could not choose a version of cargo to run, because one wasn't specified explicitly, and no default is configured.",
  "help: run 'rustup default stable' to download the latest stable release of Rust and set it as your default toolchain.",
].join('\n');

const PYTEST_COLLECTION = `============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0
rootdir: /repo
configfile: pyproject.toml
testpaths: tests
collected 38 items / 2 errors

==================================== ERRORS ====================================
_________ ERROR collecting tests/test_itsdangerous/test_encoding.py __________
ImportError while importing test module '/repo/tests/test_itsdangerous/test_encoding.py'.
Hint: make sure your test modules/packages have valid Python names.
tests/test_itsdangerous/test_encoding.py:1: in <module>
    import freezegun
E   ModuleNotFoundError: No module named 'freezegun'
_________ ERROR collecting tests/test_itsdangerous/test_timed.py __________
E   ModuleNotFoundError: No module named 'freezegun'
=========================== short test summary info ============================
ERROR tests/test_itsdangerous/test_encoding.py
ERROR tests/test_itsdangerous/test_timed.py
!!!!!!!!!!!!!!!!!!! Interrupted: 2 errors during collection !!!!!!!!!!!!!!!!!!!!
=============================== 2 errors in 0.31s ===============================`;

/** A stand-in for a tool: prints what the real one prints on this machine's problem, and exits so. */
const stub = (output: string, code: number) => `#!/bin/sh\ncat >&2 <<'EOF'\n${output}\nEOF\nexit ${code}\n`;

describe('a baseline that cannot run is not failing tests', () => {
  test('itoa without a default toolchain: through the CLI, the verdict stops, names the cause and asks', async () => {
    const repo = gitRepo({ ...ITOA, 'stubs/cargo': stub(RUSTUP, 1) });
    const out = await dwf([
      'plan',
      'audit',
      '--repo',
      repo,
      '--baseline',
      '--oracle',
      'PATH="$PWD/stubs:$PATH" sh stubs/cargo test',
      '--json',
    ]);
    expect(out.code).toBe(1);
    const plan = JSON.parse(out.stdout);
    expect(plan.assessment.baseline).toMatchObject({
      passed: false,
      exitCode: 1,
      unusable:
        "missing toolchain: error: rustup could not choose a version of cargo to run, because one wasn't specified explicitly, and no default is configured.",
    });
    expect(plan.verdict.decision).toBe('stop');
    expect(plan.verdict.reasons[0]).toMatch(
      /^the test oracle is unusable: `PATH=.* test` could not run the tests \(missing toolchain: error: rustup could not choose a version of cargo to run/,
    );
    expect(plan.questions).toHaveLength(1);
    expect(plan.questions[0].question).toContain(
      'cannot run here (missing toolchain: error: rustup could not choose',
    );
    expect(plan.script).toBeNull();
  }, 60_000);

  test('itsdangerous with pytest collection errors: the cause is the collection errors and the missing module', async () => {
    const repo = gitRepo({ ...ITSDANGEROUS, 'stubs/pytest': stub(PYTEST_COLLECTION, 2) });
    const plan = await createPlan({
      repoDir: repo,
      request: 'bug-hunt',
      model: 'claude-sonnet-5-5',
      oracle: 'sh stubs/pytest',
      baseline: true,
      env,
    });
    expect(plan.assessment.baseline).toMatchObject({
      exitCode: 2,
      unusable:
        "test collection errors: ERROR collecting tests/test_itsdangerous/test_encoding.py; ModuleNotFoundError: No module named 'freezegun'",
      failing: ['tests/test_itsdangerous/test_encoding.py', 'tests/test_itsdangerous/test_timed.py'],
    });
    expect(plan.verdict).toMatchObject({ decision: 'stop', stoppedBy: 'unusable-oracle' });
    const text = renderPlan(plan);
    expect(text).toContain(
      "- baseline: cannot run (exit 2; test collection errors: ERROR collecting tests/test_itsdangerous/test_encoding.py; ModuleNotFoundError: No module named 'freezegun' (0 passed, 0 failed, 2 errors)",
    );
    expect(text).toContain('### Verdict: `stop`');
    expect(text).toContain('Which command runs the tests, or what must be installed first?');
  }, 60_000);

  test.each([
    [
      'a command that is not installed',
      'nonexistent-runner --all',
      /^missing command: .*nonexistent-runner: not found$/,
    ],
    [
      'a module that is not installed',
      'node -e "require(\'left-pad\')"',
      /^missing dependency: Error: Cannot find module 'left-pad'/,
    ],
  ])(
    '%s',
    async (_what, oracle, cause) => {
      const repo = gitRepo({ 'package.json': '{"name":"x"}', 'src/index.js': 'module.exports = 1;\n' });
      const a = await assessRepository(repo, { oracle, baseline: true, env });
      expect(a.baseline?.passed).toBe(false);
      expect(a.baseline?.unusable).toMatch(cause);
    },
    60_000,
  );

  test('a suite that runs and fails is failing tests: counts and the failing names, and the plan goes ahead', async () => {
    const repo = gitRepo({
      'package.json': JSON.stringify({ name: 'dates', scripts: { test: 'node --test' } }),
      'src/dates.js': 'exports.parse = (s) => new Date(s + "Z");\n',
      'test/dates.test.js': [
        "const test = require('node:test');",
        "const assert = require('node:assert');",
        "test('formats dates', () => assert.ok(true));",
        "test('parses dates', () => assert.strictEqual(1, 2));",
        '',
      ].join('\n'),
    });
    const plan = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      baseline: true,
      env,
    });
    expect(plan.assessment.baseline).toMatchObject({
      passed: false,
      exitCode: 1,
      summary: '1 passed, 1 failed',
      failing: ['parses dates'],
    });
    expect(plan.assessment.baseline?.unusable).toBeUndefined();
    expect(plan.verdict.decision).toBe('subagents');
    expect(renderPlan(plan)).toContain(
      '- baseline: failing (exit 1; 1 passed, 1 failed; first failing: parses dates)',
    );
  }, 60_000);
});

describe("the common runners' output, read", () => {
  const read = (output: string, exitCode = 1) => {
    const outcome = readTestOutput(output, exitCode);
    return { ...outcome, summary: summarizeOutcome(outcome, output, exitCode) };
  };

  test('vitest: the counts, not "exit 1: Duration 218.39s"', () => {
    const output = ` ✓ test/a.test.ts (3 tests) 12ms
 ❯ test/b.test.ts (2 tests | 1 failed) 30ms
   × parses > rejects an empty string 4ms

 FAIL  test/b.test.ts > parses > rejects an empty string
AssertionError: expected true to be false

 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 4 passed (5)
   Start at  04:51:00
   Duration  218.39s (transform 1.92s, setup 0ms)`;
    expect(read(output)).toMatchObject({
      passed: 4,
      failed: 1,
      failing: ['test/b.test.ts > parses > rejects an empty string'],
      summary: '4 passed, 1 failed',
    });
  });

  test('jest', () => {
    const output = `FAIL src/sum.test.js
  ● math › adds

    expect(received).toBe(expected)

Tests:       1 failed, 6 passed, 7 total`;
    expect(read(output)).toMatchObject({ passed: 6, failed: 1, failing: ['math › adds'] });
  });

  test('pytest', () => {
    const output = `tests/test_core.py .F.
=========================== short test summary info ============================
FAILED tests/test_core.py::test_add - assert 3 == 4
========================= 1 failed, 2 passed in 0.12s ==========================`;
    expect(read(output)).toMatchObject({
      passed: 2,
      failed: 1,
      failing: ['tests/test_core.py::test_add'],
      summary: '2 passed, 1 failed',
    });
  });

  test('go test', () => {
    const output = `--- FAIL: TestParse (0.00s)
    flag_test.go:12: got 1, want 2
--- FAIL: TestSet/empty (0.00s)
FAIL
FAIL\tgithub.com/spf13/pflag\t0.012s
FAIL`;
    expect(read(output)).toMatchObject({ failed: 2, failing: ['TestParse', 'TestSet/empty'] });
  });

  test('cargo test: the sums of every test binary', () => {
    const output = `running 2 tests
test tests::formats ... ok
test tests::parses ... FAILED

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out

running 3 tests
test test_u64 ... ok
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out`;
    expect(read(output)).toMatchObject({
      passed: 4,
      failed: 1,
      failing: ['tests::parses'],
      summary: '4 passed, 1 failed',
    });
  });

  test("node's spec reporter", () => {
    const output = `✔ formats dates (0.5ms)
✖ parses dates (1.2ms)
ℹ tests 2
ℹ pass 1
ℹ fail 1`;
    expect(read(output)).toMatchObject({ passed: 1, failed: 1, failing: ['parses dates'] });
  });

  test('npm without the script; a suite where one file misses a module but others pass is still usable', () => {
    expect(
      read('npm error Missing script: "test"\nnpm error\nnpm error To see a list of scripts, run:\n')
        .unusable,
    ).toBe('missing script: npm error Missing script: "test"');
    const partial = `not ok 1 - test/a.test.js
  Error: Cannot find module 'left-pad'
ok 2 - test/b.test.js
# pass 1
# fail 1`;
    expect(read(partial)).toMatchObject({ passed: 1, failed: 1, failing: ['test/a.test.js'] });
    expect(read(partial).unusable).toBeUndefined();
  });

  test('no counts: the first error line, not the last line of the output', () => {
    expect(read('Building...\nerror: linker `cc` not found\nDuration 3s\n', 1).summary).toBe(
      'exit 1, no test counts in the output; first error: error: linker `cc` not found',
    );
  });
});
