import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { jitteryProvider, runScript, tempDir } from '../helpers.js';

function finished(events: RunEvent[]) {
  return events.filter(
    (e): e is Extract<RunEvent, { type: 'agent.finished' }> => e.type === 'agent.finished',
  );
}

const PIPELINE = `
const items = Array.from({ length: 12 }, (_, i) => i);
const out = await pipeline(
  items,
  (i) => agent('find ' + i, { label: 'find ' + i }),
  (found, i) => agent('verify ' + found, { label: 'verify ' + i }),
);
return out;`;

describe('resume', () => {
  test('a completed run resumed replays every agent at zero cost and returns the same result', async () => {
    const runsDir = tempDir();
    const first = await runScript(PIPELINE, { provider: jitteryProvider(), runsDir, concurrency: 4 });
    expect(first.summary.status).toBe('completed');
    expect(first.summary.usage.agents).toBe(24);

    const again = await runScript(PIPELINE, {
      provider: jitteryProvider(),
      runsDir,
      concurrency: 4,
      resume: first.summary.runId,
    });
    expect(again.summary).toMatchObject({
      status: 'completed',
      result: first.summary.result,
      resumedFrom: first.summary.runId,
    });
    expect(again.summary.usage).toEqual({
      agents: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      usd: null,
    });
    const done = finished(again.logged);
    expect(done).toHaveLength(24);
    expect(done.every((e) => e.replayed)).toBe(true);
    // Replayed results come back in the original completion order, so every call kept its index.
    const indexOf = (events: RunEvent[]) =>
      Object.fromEntries(finished(events).map((e) => [e.label, e.index]));
    expect(indexOf(again.logged)).toEqual(indexOf(first.logged));
    expect(again.summary.runId).not.toBe(first.summary.runId);
  });

  test('the first changed call and every call after it run live', async () => {
    const runsDir = tempDir();
    const script = (changed: string) => `
const out = [];
for (let i = 0; i < 10; i++) out.push(await agent((i === 6 ? '${changed}' : 'step ') + i));
return out;`;
    const first = await runScript(script('step '), { runsDir });
    const second = await runScript(script('changed step '), { runsDir, resume: first.summary.runId });
    const done = finished(second.logged);
    expect(done.filter((e) => e.replayed).map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(done.filter((e) => !e.replayed).map((e) => e.index)).toEqual([6, 7, 8, 9]);
    expect(second.summary.usage.agents).toBe(4);
    const results = second.summary.result as string[];
    expect(results.slice(0, 6)).toEqual((first.summary.result as string[]).slice(0, 6));
  });

  test('failed agents are not in the journal, so a resume runs them live', async () => {
    const runsDir = tempDir();
    const provider = createFixtureProvider('f.json', {
      rules: [
        { match: { label: 'bad' }, error: 'overloaded' },
        { match: {}, text: 'ok' },
      ],
    });
    const script = `return [await agent('a'), await agent('b', { label: 'bad' }), await agent('c')];`;
    const first = await runScript(script, { provider, runsDir });
    expect(first.summary.result).toEqual(['ok', null, 'ok']);
    const second = await runScript(script, { provider, runsDir, resume: first.summary.runId });
    expect(finished(second.logged).map((e) => [e.index, e.replayed ?? false])).toEqual([
      [0, true],
      [1, false],
      [2, false],
    ]);
  });

  test('a journal whose last line was torn by a kill still resumes', async () => {
    const runsDir = tempDir();
    const first = await runScript(`for (let i = 0; i < 4; i++) await agent('s' + i); return 'ok';`, {
      runsDir,
    });
    appendFileSync(join(first.summary.runDir, 'journal.jsonl'), '{"index":4,"key":"ab');
    const second = await runScript(`for (let i = 0; i < 5; i++) await agent('s' + i); return 'ok';`, {
      runsDir,
      resume: first.summary.runId,
    });
    expect(finished(second.logged).map((e) => e.replayed ?? false)).toEqual([true, true, true, true, false]);
  });

  test('an unknown run id is a clear error', async () => {
    const runsDir = tempDir();
    await expect(runScript('return 1;', { runsDir, resume: '20261126-142501-3fa9c2' })).rejects.toThrow(
      `no run "20261126-142501-3fa9c2" in ${runsDir} to resume`,
    );
  });

  test('replayed tokens count toward the budget, so a resumed run cannot spend past it', async () => {
    const runsDir = tempDir();
    const provider = createFixtureProvider('c.json', {
      rules: [{ match: {}, text: 'ok', usage: { input: 100, output: 0 } }],
    });
    const script = (n: number) =>
      `for (let i = 0; i < ${n}; i++) await agent('s' + i); return budget.spent();`;
    const first = await runScript(script(4), { provider, runsDir });
    expect(first.summary.result).toBe(400);
    // The four replayed agents cost nothing now but count 400 tokens, so the fifth may not start.
    const second = await runScript(script(6), {
      provider,
      runsDir,
      resume: first.summary.runId,
      budget: { tokens: 300 },
    });
    expect(second.summary.status).toBe('stopped');
    expect(second.summary.error).toMatch(/token budget exhausted: 400 of 300/);
    expect(second.summary.usage.agents).toBe(0);
  });
});

describe('a run killed with SIGKILL', () => {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'dwf.js');
  const SCRIPT = `export const meta = { name: 'kill', description: 'killed halfway' };
const items = Array.from({ length: 60 }, (_, i) => i);
const out = await pipeline(
  items,
  (i) => agent('find ' + i, { label: 'find ' + i, schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }),
  (found, i) => agent('verify ' + JSON.stringify(found), { label: 'verify ' + i }),
);
return out;`;

  /** Runs `dwf`; the run is the directory that appears under runs/ (--json keeps stderr quiet). */
  function dwf(args: string[], cwd: string, killAfterJournalLines?: number) {
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
      const runs = join(cwd, 'runs');
      const ids = () => {
        try {
          return readdirSync(runs);
        } catch {
          return [];
        }
      };
      const before = new Set(ids());
      const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let runId: string | undefined;
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.resume();
      const timer =
        killAfterJournalLines === undefined
          ? undefined
          : setInterval(() => {
              runId ??= ids().find((id) => !before.has(id));
              if (!runId) return;
              let lines = 0;
              try {
                lines = readFileSync(join(runs, runId, 'journal.jsonl'), 'utf8').split('\n').length - 1;
              } catch {
                return;
              }
              if (lines >= killAfterJournalLines) {
                clearInterval(timer);
                child.kill('SIGKILL');
              }
            }, 5);
      child.on('close', (code, signal) => {
        clearInterval(timer);
        resolve({ code, signal, stdout });
      });
    });
  }

  test('and resumed finishes with the same result, counting only the agents that ran live', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'kill.js'), SCRIPT);
    const common = [
      'run',
      'kill.js',
      '--model',
      'sim?latency=15',
      '--concurrency',
      '4',
      '--runs-dir',
      'runs',
      '--json',
    ];

    const whole = await dwf(common, cwd);
    expect(whole.code).toBe(0);
    const uninterrupted = JSON.parse(whole.stdout);

    const killed = await dwf(common, cwd, 50);
    expect(killed.signal).toBe('SIGKILL');
    const killedRunId = lastRunId(cwd, uninterrupted.runId);
    const journalLines = readFileSync(join(cwd, 'runs', killedRunId, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n').length;
    expect(journalLines).toBeGreaterThanOrEqual(50);
    expect(journalLines).toBeLessThan(120);

    const resumed = await dwf([...common, '--resume', killedRunId], cwd);
    expect(resumed.code).toBe(0);
    const outcome = JSON.parse(resumed.stdout);
    expect(outcome.status).toBe('completed');
    expect(outcome.result).toEqual(uninterrupted.result);

    const events = readFileSync(join(outcome.runDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    const done = finished(events);
    const live = done.filter((e) => !e.replayed);
    expect(done).toHaveLength(120);
    expect(done.length - live.length).toBeGreaterThanOrEqual(40);
    expect(outcome.usage.agents).toBe(live.length);
    expect(outcome.usage.inputTokens).toBe(live.reduce((sum, e) => sum + e.usage.inputTokens, 0));
    expect(outcome.usage.inputTokens).toBeLessThan(uninterrupted.usage.inputTokens);
  }, 60_000);
});

function lastRunId(cwd: string, except: string): string {
  const ids = readdirSync(join(cwd, 'runs')).filter((id) => id !== except);
  if (ids.length !== 1) throw new Error(`expected one killed run, found ${ids.join(', ')}`);
  return ids[0]!;
}
