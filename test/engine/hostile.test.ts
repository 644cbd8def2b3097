import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MAX_SCRIPT_OUTPUT_BYTES, type RunEvent } from '../../src/engine/events.js';
import { checkRunId, runPaths } from '../../src/engine/run-dir.js';
import { estimateScript } from '../../src/plan/estimate.js';
import { GUEST_LIMITS } from '../../src/script/sandbox.js';
import { META, readJson, runScript, tempDir } from '../helpers.js';

// Issue 9, holes 6 and 7 through the engine's real path: runWorkflow, the run directory, the CLI.

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'dwf.js');

const children = new Set<ChildProcess>();
afterEach(() => {
  // A test that failed may leave its CLI spinning: end it.
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** performance.now() when the process had exited. */
  closedAt: number;
}

/** Runs the built CLI (`npm run build` first) in `cwd`; `onStderr` sees its stderr as it comes. */
function dwf(
  args: string[],
  cwd: string,
  options: { node?: string[]; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {},
) {
  return new Promise<Exit>((resolve) => {
    const child = spawn(process.execPath, [...(options.node ?? []), BIN, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      options.onStderr?.(stderr, child);
    });
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, closedAt: performance.now() }),
    );
  });
}

function events(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}

describe('a script that hangs the host while its values are converted (hole 6)', () => {
  test('throw { toJSON() { for (;;) {} } } ends the run failed, with a result and a report', async () => {
    const started = performance.now();
    const { summary } = await runScript(`throw { toJSON() { for (;;) {} } };`, { limits: { cpuMs: 500 } });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(
      /^reading the value the script threw did not finish within \d+ ms \(a getter, toString or toJSON on it that never returns\?\)$/,
    );
    const result = readJson<{ status: string; error: string }>(join(summary.runDir, 'result.json'));
    expect(result).toMatchObject({ status: 'failed', error: summary.error });
    expect(readFileSync(summary.reportPath, 'utf8')).toMatch(/^# test: failed/);
  });

  test('an Error whose message getter loops, thrown after agents ran', async () => {
    const { summary } = await runScript(
      `await parallel([() => agent('a'), () => agent('b')]);
const e = new Error('x');
Object.defineProperty(e, 'message', { get() { for (;;) {} } });
throw e;`,
      { limits: { cpuMs: 500 } },
    );
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/^reading the value the script threw did not finish/);
    expect(summary.usage.agents).toBe(2);
    expect(existsSync(join(summary.runDir, 'result.json'))).toBe(true);
  });

  test('a returned value whose toJSON loops stops at the CPU cap', async () => {
    const { summary } = await runScript(`return { toJSON() { for (;;) {} } };`, { limits: { cpuMs: 500 } });
    expect(summary).toMatchObject({
      status: 'failed',
      error: 'the script used more than 500 ms of CPU time (is there an endless loop?)',
    });
  });

  test('an agent prompt with a looping toJSON stops at the CPU cap, and no agent starts', async () => {
    const { summary, logged } = await runScript(`await agent({ toJSON() { for (;;) {} } });`, {
      limits: { cpuMs: 500 },
    });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/more than 500 ms of CPU time/);
    expect(logged.filter((e) => e.type === 'agent.started')).toEqual([]);
  });

  test('a label too long to keep for every agent is refused at the call', async () => {
    const { summary } = await runScript(
      `try { await agent('x', { label: 'l'.repeat(${GUEST_LIMITS.phase + 1}) }); } catch (e) { return e.name + ': ' + e.message; }`,
    );
    expect(summary.result).toBe(
      `RangeError: agent(): opts.label is ${GUEST_LIMITS.phase + 1} characters; the limit is ${GUEST_LIMITS.phase}`,
    );
    expect(summary.usage.agents).toBe(0);
  });

  test("the planner's dry run of a model-written script survives it too, and says why", async () => {
    const estimate = await estimateScript({
      source: `${META}throw { toJSON() { for (;;) {} } };`,
      file: 'plan.js',
      model: 'claude-sonnet-5-5',
      concurrency: 4,
      maxAgents: 10,
    });
    expect(estimate.problems).toHaveLength(2);
    for (const problem of estimate.problems) {
      expect(problem).toMatch(/dry run failed: reading the value the script threw did not finish within/);
    }
  }, 20_000);
});

describe('a script that floods the host through log() (hole 7)', () => {
  test('200 × log(8 MB) under a 256 MB heap: lines cut, volume capped, the run completes', async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'flood.js'),
      `${META}const big = 'x'.repeat(8 * 1024 * 1024);
for (let i = 0; i < 200; i++) log(big);
for (let i = 0; i < 600; i++) log('y'.repeat(16 * 1024));
return 'survived';`,
    );
    const exit = await dwf(['run', 'flood.js', '--runs-dir', 'runs', '--json'], cwd, {
      node: ['--max-old-space-size=256'],
    });
    expect(exit.stderr).not.toMatch(/heap out of memory/);
    expect(exit.code).toBe(0);
    const outcome = JSON.parse(exit.stdout) as { status: string; result: unknown; runDir: string };
    expect(outcome).toMatchObject({ status: 'completed', result: 'survived' });
    expect(readJson(join(outcome.runDir, 'result.json'))).toMatchObject({ status: 'completed' });

    const logged = events(outcome.runDir).filter((e) => e.type === 'log');
    const first = logged[0] as Extract<RunEvent, { type: 'log' }>;
    expect(first.message).toHaveLength(
      GUEST_LIMITS.logLine +
        ` … [log line cut: ${8 * 1024 * 1024 - GUEST_LIMITS.logLine} of ${8 * 1024 * 1024} characters not shown]`
          .length,
    );
    const notices = logged.filter((e) => /^\[dwf\] the script has written 8 MiB/.test(e.message));
    expect(notices).toHaveLength(1);
    // 800 lines of 16 KiB were written; what the event log kept stays near the cap.
    expect(logged.length).toBeLessThan(800);
    expect(statSync(join(outcome.runDir, 'events.jsonl')).size).toBeLessThan(
      MAX_SCRIPT_OUTPUT_BYTES + 1024 * 1024,
    );
    expect(readFileSync(join(outcome.runDir, 'report.md'), 'utf8')).toMatch(
      /- log: \d+ lines the script wrote \([\d,]+ characters\) were dropped past the limit on its output/,
    );
  }, 60_000);
});

describe('Ctrl-C', () => {
  test('the first SIGINT stops a script in a tight loop within 5 seconds; the run ends stopped', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'loop.js'), `${META}log('looping now');\nfor (;;) {}`);
    let sent = 0;
    const exit = await dwf(['run', 'loop.js', '--runs-dir', 'runs'], cwd, {
      onStderr: (text, child) => {
        // The log line is written from inside the loop's slice: the guest is spinning now.
        if (sent === 0 && text.includes('looping now')) {
          sent = performance.now();
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBeGreaterThan(0);
    expect(exit.closedAt - sent).toBeLessThan(5000);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/SIGINT: stopping the run/);
    expect(exit.stderr).toMatch(/^stopped: /m);
    const runId = /run (\S+): test/.exec(exit.stderr)![1]!;
    const result = readJson<{ status: string; error: string }>(join(cwd, 'runs', runId, 'result.json'));
    expect(result).toMatchObject({ status: 'stopped', error: 'stopped by SIGINT' });
    expect(existsSync(join(cwd, 'runs', runId, 'report.md'))).toBe(true);
  }, 30_000);
});

describe('run ids that name paths', () => {
  test.each([
    '../x',
    '../../etc',
    '/etc',
    '..',
    '.',
    '',
    '20261126-142501-3fa9c2/../../x',
    '20261126-142501-3fa9c2/',
    '20261126-142501-3FA9C2',
  ])('%j is refused before it names a path', (id) => {
    expect(() => runPaths('/tmp/runs', id)).toThrow(RangeError);
    expect(() => checkRunId(id)).toThrow(/is not a run id: run ids look like 20261126-142501-3fa9c2/);
  });

  test('the ids newRunId makes pass', () => {
    expect(runPaths('/runs', '20261126-142501-3fa9c2').dir).toBe('/runs/20261126-142501-3fa9c2');
  });

  test('a resume from a traversing id is refused, and nothing outside the runs directory is read', async () => {
    const runsDir = tempDir();
    await expect(runScript('return 1;', { runsDir, resume: '../outside' })).rejects.toThrow(
      '"../outside" is not a run id',
    );
  });

  test('dwf run --resume with a traversing id is bad usage (exit 2) with the reason', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'x.js'), `${META}return 1;`);
    let stderr = '';
    const code = await main(['run', 'x.js', '--resume', '../../etc', '--runs-dir', 'runs'], {
      stdout: { write: () => true },
      stderr: {
        write: (text: string) => {
          stderr += text;
          return true;
        },
      },
      env: {},
      cwd,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/"\.\.\/\.\.\/etc" is not a run id/);
  });
});
