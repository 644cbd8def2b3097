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

describe("a script that overflows the host's own stack with deeply nested JSON", () => {
  // QuickJS checks its stack limit in JSON.parse and JSON.stringify, but V8's stack, where the wasm
  // frames live, gives out first (at about 9,600 and 5,400 levels): the instance is dropped and the
  // run fails like any other.
  const DEEP_PARSE = `return JSON.parse('['.repeat(200000));`;
  const DEEP_STRINGIFY = `let v = 1;\nfor (let i = 0; i < 30000; i++) v = [v];\nreturn { deep: v };`;
  const overflowed =
    /^the script overflowed the host's stack \(RangeError: Maximum call stack size exceeded\), most likely while converting a deeply nested value: .* Keep values far shallower/;

  test.each([
    ['JSON.parse of 200,000 [', DEEP_PARSE],
    ['JSON.stringify of a value 30,000 levels deep (the result)', DEEP_STRINGIFY],
    [
      'JSON.stringify in the script',
      `let v = {};\nfor (let i = 0; i < 8000; i++) v = { a: v };\nlog(JSON.stringify(v));`,
    ],
  ])('%s ends the run failed, with a result and a report', async (_, body) => {
    const started = performance.now();
    const { summary } = await runScript(body);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(overflowed);
    const result = readJson<{ status: string; error: string }>(join(summary.runDir, 'result.json'));
    expect(result).toMatchObject({ status: 'failed', error: summary.error });
    expect(readFileSync(summary.reportPath, 'utf8')).toMatch(/^# test: failed/);
    // The host is unharmed: the next run works.
    const { summary: next } = await runScript(`return JSON.parse('[[1]]');`);
    expect(next).toMatchObject({ status: 'completed', result: [[1]] });
  });

  test('with agents in flight: they are stopped, their usage counts, and the run still ends', async () => {
    const { summary } = await runScript(
      `await agent('first');\nagent('never awaited');\nJSON.parse('['.repeat(200000));`,
      { model: 'sim?latency=50' },
    );
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(overflowed);
    expect(summary.usage.agents).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(summary.runDir, 'result.json'))).toBe(true);
  });

  test('a nested workflow that overflows fails its workflow() call; the calling script goes on', async () => {
    const { summary } = await runScript(`try { await workflow('deep'); } catch (e) { return e.message; }`, {
      workflows: () => ({ source: `${META}${DEEP_PARSE}`, file: 'deep.js' }),
    });
    expect(summary.status).toBe('completed');
    expect(summary.result).toMatch(/^workflow "test" failed: the script overflowed the host's stack/);
  });

  test('a result nested more than 1000 levels is refused with the reason; 1000 levels is fine', async () => {
    const nested = (levels: number) => `let v = 1;\nfor (let i = 0; i < ${levels}; i++) v = [v];\nreturn v;`;
    const { summary } = await runScript(nested(1001));
    expect(summary).toMatchObject({
      status: 'failed',
      error:
        'the script returned a value nested 1001 levels deep; the limit is 1000: return something flatter',
    });
    expect(existsSync(join(summary.runDir, 'result.json'))).toBe(true);
    expect((await runScript(nested(1000))).summary.status).toBe('completed');
  });

  test("the planner's dry run ends with the reason for both scripts", async () => {
    for (const body of [DEEP_PARSE, DEEP_STRINGIFY]) {
      const estimate = await estimateScript({
        source: `${META}${body}`,
        file: 'plan.js',
        model: 'claude-sonnet-5-5',
        concurrency: 4,
        maxAgents: 10,
      });
      expect(estimate.problems).toHaveLength(2);
      for (const problem of estimate.problems) {
        expect(problem).toMatch(/^the (quiet|busy) dry run failed: the script overflowed the host's stack/);
      }
    }
  }, 20_000);

  test('the built dry run returns, and its process ends by itself: no timer is left holding it', async () => {
    const cwd = tempDir();
    const estimate = join(import.meta.dirname, '..', '..', 'dist', 'plan', 'estimate.js');
    writeFileSync(
      join(cwd, 'dry.mjs'),
      `import { dryRun } from ${JSON.stringify(estimate)};
const r = await dryRun({ source: ${JSON.stringify(`${META}${DEEP_PARSE}`)}, file: 'x.js', model: 'sim', concurrency: 4, maxAgents: 10 }, 'quiet');
console.log(JSON.stringify({ status: r.summary.status, error: r.summary.error }));`,
    );
    const exit = await new Promise<Exit>((resolve) => {
      const child = spawn(process.execPath, ['dry.mjs'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code, signal) =>
        resolve({ code, signal, stdout, stderr, closedAt: performance.now() }),
      );
    });
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    expect(JSON.parse(exit.stdout)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(overflowed),
    });
  }, 30_000);

  test('dwf run of such a script exits non-zero, with the reason, instead of hanging', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'deep.js'), `${META}${DEEP_PARSE}`);
    const started = performance.now();
    const exit = await dwf(['run', 'deep.js', '--runs-dir', 'runs'], cwd);
    expect(exit.closedAt - started).toBeLessThan(20_000);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^error: the script overflowed the host's stack/m);
    const runId = /run (\S+): test/.exec(exit.stderr)![1]!;
    expect(readJson(join(cwd, 'runs', runId, 'result.json'))).toMatchObject({ status: 'failed' });
    expect(existsSync(join(cwd, 'runs', runId, 'report.md'))).toBe(true);
  }, 30_000);
});
