import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import type { JournalEntry } from '../../src/engine/journal.js';
import { readJsonLines } from '../../src/engine/run-dir.js';
import { tempDir } from '../helpers.js';

// The durability rule (see `runWorkflow`): a SIGKILL may lose at most the events of the current
// turn, never a journal line of an agent whose result the script has seen. The script logs each
// result it sees; wherever the run is killed, every logged result has its journal line, and the
// resumed run returns the uninterrupted run's result without spending anything on them again.

const ITEMS = 24;
const TOTAL = 2 * ITEMS;
const SCRIPT = `export const meta = { name: 'durable', description: 'killed at random points' };
const out = await pipeline(
  Array.from({ length: ${ITEMS} }, (_, i) => i),
  async (i) => {
    const found = await agent('find ' + i, { label: 'find ' + i });
    log('seen find ' + i);
    return found;
  },
  async (found, i) => {
    const verified = await agent('verify ' + found, { label: 'verify ' + i });
    log('seen verify ' + i);
    return verified;
  },
);
return out;`;

const bin = join(import.meta.dirname, '..', '..', 'bin', 'dwf.js');
// One latency for every agent, so agents finish in the order they start: the journal is then a
// prefix of the start order, and resume replays all of it.
const COMMON = [
  'run',
  'durable.js',
  '--model',
  'sim?latency=20',
  '--concurrency',
  '4',
  '--runs-dir',
  'runs',
  '--json',
];

/** A small fixed-seed generator (mulberry32): the same kill points on every run of the test. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The labels the script has logged as seen, from whatever the events file holds. */
function seenIn(eventsPath: string): string[] {
  let text: string;
  try {
    text = readFileSync(eventsPath, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/"message":"seen ([a-z]+ \d+)"/g)].map((m) => m[1]!);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  runId?: string;
}

/** The run directories under `cwd`/runs. */
function runIds(cwd: string): string[] {
  try {
    return readdirSync(join(cwd, 'runs'));
  } catch {
    return [];
  }
}

/**
 * Runs `dwf`; with `kill`, SIGKILLs it once the script has seen that many results, after a delay.
 * The run is the directory that appears under runs/ (with --json, dwf writes nothing to stderr).
 */
function dwf(args: string[], cwd: string, kill?: { afterSeen: number; delayMs: number }): Promise<Exit> {
  return new Promise((resolve) => {
    const before = new Set(runIds(cwd));
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let runId: string | undefined;
    const findRun = () => {
      runId ??= runIds(cwd).find((id) => !before.has(id));
      return runId;
    };
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.resume();
    const timer = kill
      ? setInterval(() => {
          const id = findRun();
          if (!id || seenIn(join(cwd, 'runs', id, 'events.jsonl')).length < kill.afterSeen) return;
          clearInterval(timer);
          setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
        }, 2)
      : undefined;
    child.on('close', (code, signal) => {
      clearInterval(timer);
      findRun();
      resolve({ code, signal, stdout, ...(runId ? { runId } : {}) });
    });
  });
}

function finished(events: RunEvent[]) {
  return events.filter(
    (e): e is Extract<RunEvent, { type: 'agent.finished' }> => e.type === 'agent.finished',
  );
}

describe('a run killed with SIGKILL at random points', () => {
  test('resumes with the same result, and spends nothing again on results the script had seen', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'durable.js'), SCRIPT);
    const whole = await dwf(COMMON, base);
    expect(whole.code).toBe(0);
    const uninterrupted = JSON.parse(whole.stdout) as { result: unknown; usage: { agents: number } };
    expect(uninterrupted.usage.agents).toBe(TOTAL);

    const next = random(20261126);
    // Kill points spread over the run, each with a delay that lands it somewhere in a turn; the
    // last few results are left out so the kill always comes before the run ends.
    const points = Array.from({ length: 10 }, () => ({
      afterSeen: 1 + Math.floor(next() * (TOTAL - 12)),
      delayMs: Math.floor(next() * 12),
    }));

    const trial = async (point: (typeof points)[number]) => {
      const cwd = tempDir();
      writeFileSync(join(cwd, 'durable.js'), SCRIPT);
      const killed = await dwf(COMMON, cwd, point);
      expect(killed.signal, `kill point ${JSON.stringify(point)}`).toBe('SIGKILL');
      const dir = join(cwd, 'runs', killed.runId!);
      const seen = new Set(seenIn(join(dir, 'events.jsonl')));
      const journaled = new Set(readJsonLines<JournalEntry>(join(dir, 'journal.jsonl')).map((e) => e.label));
      // The rule itself: every result the script saw is in the journal.
      for (const label of seen) expect(journaled, `${label} was seen but not journaled`).toContain(label);

      const resumed = await dwf([...COMMON, '--resume', killed.runId!], cwd);
      expect(resumed.code).toBe(0);
      const outcome = JSON.parse(resumed.stdout) as {
        status: string;
        result: unknown;
        runDir: string;
        usage: { agents: number };
      };
      expect(outcome.status).toBe('completed');
      expect(outcome.result).toEqual(uninterrupted.result);
      const done = finished(readJsonLines<RunEvent>(join(outcome.runDir, 'events.jsonl')));
      expect(done).toHaveLength(TOTAL);
      const live = done.filter((e) => !e.replayed);
      expect(outcome.usage.agents).toBe(live.length);
      // Nothing the script had seen is spent again.
      expect(live.length).toBeLessThanOrEqual(TOTAL - seen.size);
      for (const e of live) expect(seen.has(e.label!), `${e.label} ran live again`).toBe(false);
    };

    // Three at a time: each child is mostly waiting on its simulated latency.
    for (let i = 0; i < points.length; i += 3) await Promise.all(points.slice(i, i + 3).map(trial));
  }, 60_000);
});
