import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../helpers.js';

function tests(cwd: string) {
  const run = spawnSync(process.execPath, ['--test'], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  return {
    code: run.status,
    pass: /# pass (\d+)/.exec(run.stdout)?.[1],
    fail: /# fail (\d+)/.exec(run.stdout)?.[1],
  };
}

test('the demo audits the example API with real tools and leaves a branch where its failing tests pass', async () => {
  const cwd = tempDir();
  let stdout = '';
  let stderr = '';
  const code = await main(['demo', '--json'], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { PATH: process.env.PATH },
    cwd,
  });
  // With --json the run's progress stays off stderr; the demo still says where its repository is.
  expect(stderr).toMatch(/^demo repository: \.dwf\/demo\/example-api — /);
  expect(code).toBe(0);
  const outcome = JSON.parse(stdout);
  expect(outcome.result.tests).toEqual({ before: '3 passed, 4 failed', after: '7 passed, 0 failed' });
  expect(outcome.result.findings.map((f: { status: string }) => f.status)).toEqual([
    'fixed',
    'fixed',
    'fixed',
    'refuted',
  ]);

  const repo = join(cwd, '.dwf', 'demo', 'example-api');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  expect(tests(repo)).toEqual({ code: 1, pass: '3', fail: '4' });
  const branch = `dwf/${outcome.runId}`;
  git('checkout', '-q', branch);
  expect(tests(repo)).toEqual({ code: 0, pass: '7', fail: '0' });
  expect(git('diff', '--stat', 'main', '--', 'src').split('\n').pop()?.trim()).toBe(
    '3 files changed, 5 insertions(+), 4 deletions(-)',
  );
  // The branch holds the fixes only; the report is in the run directory.
  expect(
    git('diff', '--name-only', 'main', branch)
      .split('\n')
      .every((f) => f.startsWith('src/')),
  ).toBe(true);
  const report = readFileSync(outcome.reportPath, 'utf8');
  expect(report).toContain('3 fixed, 1 refuted');
  expect(report).toContain('- before: failing (exit 1; 3 passed, 4 failed)');
  expect(report).toContain('- after: passing (exit 0; 7 passed, 0 failed)');
  expect(report).toContain('no model was called');
}, 60_000);
