import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { RunEvent } from '../src/engine/events.js';
import { type RunOptions, runWorkflow } from '../src/engine/run.js';
import { readJsonLines } from '../src/engine/run-dir.js';
import { reportAndCommit } from '../src/flows/finish.js';
import type { FinishedRun } from '../src/flows/run.js';
import { createFixtureProvider, type FixtureRule } from '../src/models/fixture.js';
import { resolveModel } from '../src/models/resolve.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed after the test. */
export function tempDir(prefix = 'dwf-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export const META = `export const meta = { name: 'test', description: 'a test workflow' };\n`;

/**
 * Runs a script body (meta added) for real: sandbox, engine and run directory in a temp dir, and
 * the finish every door uses (the report, the commit).
 */
export async function runScript(body: string, options: Partial<RunOptions> & { model?: string } = {}) {
  const events: RunEvent[] = [];
  const { model = 'sim', ...rest } = options;
  const summary = (await runWorkflow({
    source: body.startsWith('export const meta') ? body : META + body,
    file: 'plan.js',
    provider: resolveModel(model),
    runsDir: options.runsDir ?? tempDir(),
    onEvent: (e) => events.push(e),
    finish: reportAndCommit,
    ...rest,
  })) as FinishedRun;
  const logged = readJsonLines<RunEvent>(join(summary.runDir, 'events.jsonl'));
  return { summary, events, logged };
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The most agents the event log ever shows running (started, not yet finished) at once. */
export function peakRunning(events: RunEvent[]): number {
  const running = new Set<number>();
  let peak = 0;
  for (const e of events) {
    if (e.type === 'agent.started') running.add(e.index);
    if (e.type === 'agent.finished') running.delete(e.index);
    peak = Math.max(peak, running.size);
  }
  return peak;
}

/** A nock body matcher that records each body it sees and accepts it. */
export function recording<T>(record: (body: T) => void): (body: T) => boolean {
  return (body) => {
    record(body);
    return true;
  };
}

/** git with a throwaway identity, in `cwd`; its output trimmed. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();
}

/** A git repository (a real path) in a temp dir holding these files in one commit on main. */
export function gitRepoWith(files: Record<string, string>): string {
  const dir = realpathSync(tempDir());
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, 'init', '-q', '--initial-branch=main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'base');
  return dir;
}

/**
 * Fixture answers for agents labelled `<word> <i>` (i < 12), each after a latency that varies by
 * item, so that agents complete in another order than they start (for replay and resume tests).
 */
export const jitteryProvider = () =>
  createFixtureProvider('jitter.json', {
    rules: Array.from(
      { length: 12 },
      (_, i): FixtureRule => ({
        match: { label: `^\\w+ ${i}$` },
        text: `answer ${i}`,
        latencyMs: ((i * 7) % 5) * 6,
      }),
    ),
  });

/** `dwf` run in this process, in `cwd`, with only PATH in its environment: its exit code and what it printed. */
export async function dwfInProcess(argv: string[], cwd: string) {
  // Imported here: most tests that use these helpers never load the CLI.
  const { main } = await import('../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { PATH: process.env.PATH },
    cwd,
  });
  return { code, stdout, stderr };
}
