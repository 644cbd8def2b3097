import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readJsonLines } from '../../src/engine/run-dir.js';
import { gitRepoWith, tempDir } from '../helpers.js';

// Issue 12, "The CLI's rough edges", through the real binary (bin/dwf.js over dist/).

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'bin', 'dwf.js');

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function dwf(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ONE_AGENT = `export const meta = { name: 'one', description: 'one agent', phases: [{ title: 'Only' }] };
phase('Only');
return await agent('say hello', { label: 'hello' });
`;

/** Bad usage: exit 2, the message, the pointer to help, and no stack trace. */
function expectUsage(exit: Exit, message: string | RegExp) {
  expect(exit.code).toBe(2);
  expect(exit.stderr).toMatch(message);
  expect(exit.stderr).toMatch(/run 'dwf help' for usage\n$/);
  expect(exit.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input says what is wrong, exit 2', () => {
  test('a plain directory (not a git repository) for plan and run KIND', async () => {
    const plain = tempDir();
    writeFileSync(join(plain, 'index.js'), 'export const x = 1;\n');
    const why = /is not a git repository: dwf works on a repository's committed files \(run `git init/;
    expectUsage(await dwf(['plan', 'audit', '--repo', plain], root), why);
    expectUsage(await dwf(['run', 'audit', '--repo', plain], root), why);
  });

  test('a --repo that does not exist, for plan and for run FILE', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'one.js'), ONE_AGENT);
    expectUsage(
      await dwf(['plan', 'audit', '--repo', '/nonexistent'], dir),
      /--repo \/nonexistent: no such directory/,
    );
    const run = await dwf(['run', 'one.js', '--repo', '/nonexistent'], dir);
    expectUsage(run, /--repo \/nonexistent: no such directory/);
    expect(existsSync(join(dir, '.dwf'))).toBe(false);
  });

  test('an unknown option is named with the options the command has', async () => {
    expectUsage(
      await dwf(['run', 'x.js', '--bogus'], tempDir()),
      /^dwf: dwf run has no option --bogus; its options are --args --model .*--resume/,
    );
    expectUsage(
      await dwf(['plan', 'audit', '--frobnicate'], tempDir()),
      /dwf plan has no option --frobnicate/,
    );
  });

  test('a negative number is a bad value, not an ambiguous option', async () => {
    expectUsage(
      await dwf(['run', 'x.js', '--budget-tokens', '-3'], tempDir()),
      /^dwf: --budget-tokens must be a whole number greater than 0, got "-3"/,
    );
  });

  test('a dollar budget with a model that has no price is bad usage', async () => {
    const repo = gitRepoWith({ 'one.js': ONE_AGENT });
    expectUsage(
      await dwf(['run', 'one.js', '--budget-usd', '5'], repo),
      /a dollar budget needs prices, and model "sim" has none; use a token budget instead/,
    );
  });

  test.each([
    [
      '{"fix":"high"}',
      /--args: `fix` must be a list of severities \(low, medium, high, critical\).*, got "high"/,
    ],
    ['[1,2]', /--args must be a JSON object of named arguments/],
    ['{"rounds":"abc"}', /--args: `rounds` must be a whole number from 0 to 10, got "abc"/],
    ['{"files":"index.js"}', /--args: `files` must be a non-empty list of file paths.*, got "index.js"/],
  ])(
    'a built-in argument of the wrong shape (%s) is refused, for plan and run, before anything is planned',
    async (args, why) => {
      const repo = gitRepoWith({ 'index.js': 'export const x = 1;\n' });
      expectUsage(await dwf(['plan', 'audit', '--args', args], repo), why);
      expectUsage(await dwf(['run', 'audit', '--args', args, '--runs-dir', 'runs'], repo), why);
      expect(existsSync(join(repo, 'runs'))).toBe(false);
    },
  );

  test('a request in words with the sim says a real model is needed, and how to give one', async () => {
    const repo = gitRepoWith({ 'index.js': 'export const x = 1;\n' });
    const exit = await dwf(['plan', 'find every race condition', '--model', 'sim'], repo);
    expectUsage(exit, /is a request in words: writing its script needs a real model .*--model anthropic:/);
  });
});

describe('what a run says', () => {
  test('dwf version and --version print the package version', async () => {
    const { version } = JSON.parse(
      (await import('node:fs')).readFileSync(join(root, 'package.json'), 'utf8'),
    ) as { version: string };
    for (const flag of ['version', '--version']) {
      expect(await dwf([flag], tempDir())).toEqual({ code: 0, stdout: `dwf ${version}\n`, stderr: '' });
    }
  });

  test('counts read as English: 1 phase, 1 agent', async () => {
    const repo = gitRepoWith({ 'one.js': ONE_AGENT });
    expect((await dwf(['validate', 'one.js'], repo)).stdout).toBe(
      'one.js: valid workflow "one", 1 phase: Only\n',
    );
    const run = await dwf(['run', 'one.js', '--runs-dir', 'runs'], repo);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\ncompleted: 1 agent · /);
  });

  test('--json writes one object on stdout and nothing on stderr', async () => {
    const repo = gitRepoWith({ 'one.js': ONE_AGENT });
    const run = await dwf(['run', 'one.js', '--runs-dir', 'runs', '--json'], repo);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 'completed',
      usage: { agents: 1 },
      replayedAgents: 0,
    });
  });

  test('resuming a completed run says how many agents were replayed', async () => {
    const repo = gitRepoWith({ 'one.js': ONE_AGENT });
    const first = JSON.parse((await dwf(['run', 'one.js', '--runs-dir', 'runs', '--json'], repo)).stdout);
    const again = await dwf(['run', 'one.js', '--runs-dir', 'runs', '--resume', first.runId], repo);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(
      new RegExp(`\\ncompleted: 0 agents \\(\\+ 1 agent replayed from ${first.runId} at no cost\\) · `),
    );
  });

  test('resuming with a changed script says where the replay ends', async () => {
    const repo = gitRepoWith({
      'two.js': `export const meta = { name: 'two', description: 'two agents' };
const a = await agent('first question');
const b = await agent('second question');
return [a, b];
`,
    });
    const first = JSON.parse((await dwf(['run', 'two.js', '--runs-dir', 'runs', '--json'], repo)).stdout);
    writeFileSync(
      join(repo, 'two.js'),
      `export const meta = { name: 'two', description: 'two agents' };
const a = await agent('first question');
const b = await agent('a different second question');
return [a, b];
`,
    );
    const again = await dwf(['run', 'two.js', '--runs-dir', 'runs', '--resume', first.runId, '--json'], repo);
    const outcome = JSON.parse(again.stdout);
    expect(outcome).toMatchObject({ status: 'completed', replayedAgents: 1, usage: { agents: 1 } });
    const logs = readJsonLines<{ type: string; message?: string }>(join(outcome.runDir, 'events.jsonl'))
      .filter((e) => e.type === 'log')
      .map((e) => e.message);
    expect(logs).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `agent #1 is not in run ${first.runId}'s journal as asked now .*agents before #1 were replayed`,
        ),
      ),
    );
  });

  test("the plan's command to run it, and a stopped run's command to resume it, carry every flag given", async () => {
    const repo = gitRepoWith({ 'index.js': 'export const x = 1;\n', 'test.js': 'process.exit(0)\n' });
    const planned = await dwf(
      [
        'plan',
        'audit',
        '--repo',
        repo,
        '--args',
        '{"fix":["critical"]}',
        '--oracle',
        'node test.js',
        '--budget-tokens',
        '90000',
      ],
      tempDir(),
    );
    expect(planned.stdout).toContain(
      `To run it: \`dwf run audit --repo ${repo} --args '{"fix":["critical"]}' --oracle 'node test.js' --budget-tokens 90000 --model anthropic:claude-sonnet-5-5\``,
    );
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'x.js'),
      `export const meta = { name: 'x', description: 'd' };\nthrow new Error('no');\n`,
    );
    const failed = await dwf(['run', 'x.js', '--repo', repo, '--runs-dir', 'my runs'], cwd);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(`resume with: dwf run x\\.js --repo ${repo} --runs-dir 'my runs' --resume \\S+\\n$`),
    );
  });

  test('the review example defaults to files that exist in the bundled example API', async () => {
    const source = (await import('node:fs')).readFileSync(join(root, 'examples/workflows/review.js'), 'utf8');
    const defaults = JSON.parse(
      /args\?\.files \?\? (\[[^\]]+\])/.exec(source)![1]!.replace(/'/g, '"'),
    ) as string[];
    expect(defaults.length).toBeGreaterThan(0);
    for (const file of defaults) expect(existsSync(join(root, 'examples', 'api', file)), file).toBe(true);
  });
});

describe('what the product creates in the temp directory, it removes', () => {
  test.each([
    ['isolated, where this machine allows it', []],
    ['unisolated', ['--no-isolation']],
  ])('a run whose oracle runs %s leaves nothing behind', async (_, flags) => {
    const repo = gitRepoWith({
      'check.js': `export const meta = { name: 'check', description: 'runs the tests' };
return await oracle();
`,
      'test.sh': 'echo ok\n',
    });
    const tmp = tempDir();
    const run = await dwf(
      ['run', 'check.js', '--oracle', 'sh test.sh', '--runs-dir', 'runs', '--json', ...flags],
      repo,
      { TMPDIR: tmp },
    );
    const outcome = JSON.parse(run.stdout);
    // Where isolation cannot be set up here the oracle is refused; either way the temp dir is clean.
    expect(['completed', 'failed']).toContain(outcome.status);
    if (flags.length > 0) expect(outcome).toMatchObject({ status: 'completed', result: { passed: true } });
    expect(readdirSync(tmp)).toEqual([]);
  });
});
