import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { formatDelay, ProgressView } from '../../src/cli/progress.js';
import { tempDir } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');

async function dwf(argv: string[], cwd = root) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

function scriptIn(dir: string, body: string, name = 'plan.js'): string {
  writeFileSync(
    join(dir, name),
    `export const meta = { name: 'cli', description: 'd', phases: [{ title: 'One' }] };\n${body}`,
  );
  return name;
}

describe('dwf validate', () => {
  test('a valid script: exit 0 and a one-line summary', async () => {
    const out = await dwf(['validate', 'examples/workflows/review.js']);
    expect(out).toEqual({
      code: 0,
      stdout: 'examples/workflows/review.js: valid workflow "review", 3 phases: Find, Verify, Summarize\n',
      stderr: '',
    });
  });

  test('an invalid script: exit 1 and FILE:LINE:COL lines', async () => {
    const dir = tempDir();
    scriptIn(dir, `const fs = require('fs');\nimport x from 'y';`);
    const out = await dwf(['validate', 'plan.js'], dir);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe(
      [
        'plan.js:2:12: `require` is not allowed: workflow scripts have no modules; agents do all I/O',
        'plan.js:3:1: `import` is not allowed: workflow scripts have no modules; agents do all I/O',
        '',
      ].join('\n'),
    );
  });

  test('a missing file is bad usage', async () => {
    const out = await dwf(['validate', 'nope.js'], tempDir());
    expect(out.code).toBe(2);
    expect(out.stderr).toBe("dwf: cannot read nope.js: ENOENT\nrun 'dwf help' for usage\n");
  });
});

describe('dwf run', () => {
  test('a Claude Code workflow script runs unchanged against a fixture', async () => {
    const out = await dwf([
      'run',
      'test/fixtures/scripts/claude-code-review.js',
      '--model',
      'fixture:test/fixtures/claude-code-review.replies.json',
      '--runs-dir',
      tempDir(),
      '--json',
    ]);
    expect(out.code).toBe(0);
    const outcome = JSON.parse(out.stdout);
    expect(outcome).toMatchObject({
      status: 'completed',
      result: {
        confirmed: [
          { file: 'src/a.js', description: 'off-by-one in loop', line: 10 },
          { file: 'src/b.js', description: 'SQL built from user input', line: 5 },
        ],
      },
      // The system prompt carries the repository's map (this checkout's: its size moves with the
      // code), so the head siblings share is long enough to be cached: the fixture estimates writes.
      usage: {
        agents: 6,
        cacheReadTokens: expect.any(Number),
        cacheWriteTokens: expect.any(Number),
        usd: null,
      },
    });
    expect(Object.keys(outcome).sort()).toEqual([
      'failedAgents',
      'failures',
      'replayedAgents',
      'reportPath',
      'result',
      'runDir',
      'runId',
      'status',
      'usage',
    ]);
    expect(Object.keys(outcome.usage).sort()).toEqual(
      ['agents', 'cacheReadTokens', 'cacheWriteTokens', 'inputTokens', 'outputTokens', 'usd'].sort(),
    );
    // With --json, stdout holds the one object and stderr stays quiet: the log is in events.jsonl.
    expect(out.stderr).toBe('');
    const events = readFileSync(join(outcome.runDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'log', message: '2 confirmed bugs out of 3 files' }),
    );
    for (const e of events) expect(typeof e.t).toBe('number');
    expect(events.filter((e) => e.type === 'agent.started')).toHaveLength(6);
  });

  test('a failing script: exit 1, status failed, and the error names the line', async () => {
    const dir = tempDir();
    scriptIn(dir, `phase('One');\nawait agent('x');\nthrow new Error('no findings file');`);
    const out = await dwf(['run', 'plan.js', '--json', '--runs-dir', 'runs'], dir);
    expect(out.code).toBe(1);
    const outcome = JSON.parse(out.stdout);
    expect(outcome).toMatchObject({
      status: 'failed',
      error: 'plan.js:4:16: Error: no findings file',
      result: null,
    });
  });

  test('without --json: progress and a summary on stderr, the result on stdout, and how to resume a failure', async () => {
    const dir = tempDir();
    scriptIn(dir, `phase('One');\nlog('working');\nawait agent('x');\nreturn { ok: true };`);
    const out = await dwf(['run', 'plan.js', '--runs-dir', 'runs'], dir);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ ok: true });
    expect(out.stderr).toMatch(
      /^model: sim — simulated placeholder replies; no model was called and nothing is billed\nrun \S+: cli\n▸ One\n {2}working\ncompleted: 1 agent · \d+ tokens/,
    );
    scriptIn(dir, `await agent('x', { label: 'a' });\nnull.x;`);
    const failed = await dwf(['run', 'plan.js', '--runs-dir', 'runs'], dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /error: plan\.js:3:5: TypeError: .*\nreport: .*report\.md\nrun directory: .*\nresume with: dwf run plan\.js --runs-dir runs --resume \S+\n$/,
    );
  });

  test('an invalid script is reported with its positions and exit 1, before any run starts', async () => {
    const dir = tempDir();
    scriptIn(dir, `const n: number = 1;`);
    const out = await dwf(['run', 'plan.js', '--runs-dir', 'runs'], dir);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('plan.js:2:8: TypeScript syntax is not supported');
  });

  test.each([
    [['run'], 'dwf: run takes one FILE'],
    [['run', 'x.js', '--colour'], 'dwf: dwf run has no option --colour; its options are --args --model'],
    [['run', 'x.js', '--args', '{bad'], 'dwf: --args must be JSON'],
    [
      ['run', 'x.js', '--concurrency', '0'],
      'dwf: --concurrency must be a whole number greater than 0, got "0"',
    ],
    [['run', 'x.js', '--concurrency', '17'], 'dwf: --concurrency is at most 16'],
    [['run', 'x.js', '--max-agents', '1001'], 'dwf: --max-agents is at most 1000'],
    [
      ['run', 'x.js', '--budget-usd', 'lots'],
      'dwf: --budget-usd must be a number greater than 0, got "lots"',
    ],
    [['run', 'x.js', '--model', 'gpt-9'], 'dwf: unknown model "gpt-9"'],
    [['frobnicate'], 'dwf: unknown command "frobnicate"'],
  ])('bad usage %j exits 2 with a clear message', async (argv, message) => {
    const dir = tempDir();
    scriptIn(dir, 'return 1;', 'x.js');
    const out = await dwf(argv, dir);
    expect(out.code).toBe(2);
    expect(out.stderr.startsWith(message)).toBe(true);
    expect(out.stderr).toContain("run 'dwf help' for usage");
  });

  test('help prints the usage', async () => {
    const out = await dwf(['help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('dwf run FILE [options]');
  });
});

describe('progress on a terminal', () => {
  test('one status line with phase, running, done, failed, queued and tokens', () => {
    let screen = '';
    const view = new ProgressView((t) => (screen += t), true);
    view.on({ t: 0, type: 'phase', phase: 'Verify' });
    view.on({ t: 1, type: 'agent.queued', index: 0 });
    view.on({ t: 1, type: 'agent.queued', index: 1 });
    view.on({ t: 1, type: 'agent.queued', index: 2 });
    view.on({ t: 2, type: 'agent.started', index: 0, model: 'sim' });
    view.on({ t: 2, type: 'agent.started', index: 1, model: 'sim' });
    const usage = { inputTokens: 1500, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 0 };
    view.on({ t: 1500, type: 'agent.finished', index: 0, status: 'completed', usage, usd: 0.01 });
    view.on({
      t: 1600,
      type: 'agent.finished',
      index: 1,
      status: 'failed',
      usage,
      usd: 0.01,
      label: 'v1',
      error: 'API 500',
    });
    expect(view.status()).toBe(
      'Verify · 0 running · 1 done · 1 failed · 1 queued · 4.0k tokens · $0.0200 · 1.6s',
    );
    view.close();
    expect(screen).toContain('▸ Verify\n');
    expect(screen).toContain('  ✗ agent #1 v1 failed: API 500\n');
  });

  test('with a budget, the status line shows spend against it', () => {
    const view = new ProgressView(() => true, false);
    view.on({
      t: 0,
      type: 'run.started',
      runId: 'r',
      name: 'n',
      concurrency: 16,
      maxAgents: 1000,
      budget: { tokens: 90_000, usd: 2 },
    });
    const usage = { inputTokens: 1500, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 0 };
    view.on({ t: 1, type: 'agent.queued', index: 0 });
    view.on({ t: 2, type: 'agent.started', index: 0, model: 'sim' });
    view.on({ t: 900, type: 'agent.finished', index: 0, status: 'completed', usage, usd: 0.01 });
    expect(view.status()).toBe(
      'starting · 0 running · 1 done · 2.0k of 90.0k tokens · $0.0100 of $2.00 · 0.9s',
    );
    view.close();
  });

  test('a retry is one line as it is scheduled, and the status line counts the agents retrying until they answer', () => {
    let screen = '';
    const view = new ProgressView((t) => (screen += t), false);
    view.on({ t: 0, type: 'agent.queued', index: 0 });
    view.on({ t: 0, type: 'agent.started', index: 0, model: 'm' });
    view.on({ t: 1, type: 'agent.queued', index: 1, label: 'two' });
    view.on({ t: 1, type: 'agent.started', index: 1, label: 'two', model: 'm' });
    const retry = { type: 'agent.retry', reason: 'Connection error', of: 12 } as const;
    view.on({ t: 2, ...retry, index: 0, attempt: 3, delayMs: 8000 });
    view.on({ t: 3, ...retry, index: 1, label: 'two', attempt: 1, delayMs: 350 });
    view.on({ t: 4, ...retry, index: 1, label: 'two', attempt: 2, delayMs: 45_000 });
    expect(screen).toBe(
      [
        '  ↻ agent #0: Connection error — retry 3 of 12 in 8 s',
        '  ↻ agent #1 two: Connection error — retry 1 of 12 in 350 ms',
        '  ↻ agent #1 two: Connection error — retry 2 of 12 in 45 s',
        '',
      ].join('\n'),
    );
    expect(view.status()).toBe(
      'starting · 2 running · 0 done · 2 retrying (Connection error, retry 2 of 12) · 0 tokens · 0.0s',
    );
    const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    view.on({ t: 5, type: 'agent.turn', index: 0, turn: 1, model: 'm', usage, retries: 3, tools: [] });
    expect(view.status()).toContain('· 1 retrying (');
    view.on({ t: 6, type: 'agent.finished', index: 1, status: 'failed', usage, usd: null, error: 'gave up' });
    expect(view.status()).not.toContain('retrying');
    expect(formatDelay(1500)).toBe('1.5 s');
    expect(formatDelay(150_000)).toBe('2 min 30 s');
  });
});
