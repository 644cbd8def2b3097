import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { IDENTITY, runGit, trackedFiles } from '../agents/git.js';
import { createRepoCodeRunner } from '../agents/isolation.js';
import { Redactor } from '../agents/secrets.js';
import { runOracle } from '../agents/tools.js';
import { readJournal } from '../engine/journal.js';
import { isRunId, newRunId, writeJsonAtomic } from '../engine/run-dir.js';
import { readResultFile, readRunEvents, readUsageFile } from '../engine/run-record.js';
import type { UsageTotals } from '../engine/usage.js';
import { detectOracle } from '../plan/assess.js';
import { findingsOf } from '../report/report.js';
import { renderShardsReport, type ShardOutcome, shardsStatus } from '../report/shards-report.js';
import { type FinishedRun, type RunnableSettings, runScript, type ScriptToRun } from './run.js';
import type { RunSettings } from './settings.js';

/**
 * A sharded run (issue 15): each runner runs the approved script on its slice of the list and leaves
 * its run directory (with its changes as `changes.bundle`) as an artifact; one merge step reads every
 * shard's run directory, merges their changes onto one branch from the base, and writes one report
 * with the token accounting of every attempt of every shard summed exactly. GitHub-free: the action's
 * shard and merge modes call these.
 */

/** Which shard of how many a run was. */
export interface ShardOf {
  index: number;
  count: number;
}

/** A run directory of a shard. */
export interface ShardRun extends ShardOf {
  runId: string;
  runDir: string;
  /** result.json's status, or `unfinished` (no result.json: killed, or still going). */
  status: string;
}

/** Written as soon as a shard's run starts, so even a killed run says which shard it was. */
const SHARD_FILE = 'shard.json';
/** A shard's changes: a git bundle of base..its branch. */
export const CHANGES_BUNDLE = 'changes.bundle';

const git = (cwd: string, args: string[], config: Array<[string, string]> = []) =>
  runGit(args, { cwd, config });

function validShard(value: unknown): ShardOf | undefined {
  const s = value as Partial<ShardOf> | null | undefined;
  return Number.isInteger(s?.index) && Number.isInteger(s?.count) && s!.index! >= 0 && s!.count! > s!.index!
    ? { index: s!.index!, count: s!.count! }
    : undefined;
}

/** The shard a run directory belongs to: the run record's, else the file written at its start. */
export function shardOf(runDir: string): ShardOf | undefined {
  const recorded = validShard((readResultFile(runDir) as { shard?: unknown } | undefined)?.shard);
  if (recorded) return recorded;
  const file = join(runDir, SHARD_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return validShard(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Every shard run in a runs directory, oldest first (run ids sort by their start). */
export function shardRuns(runsDir: string): ShardRun[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter(isRunId)
    .sort()
    .flatMap((runId) => {
      const runDir = join(runsDir, runId);
      const shard = shardOf(runDir);
      return shard
        ? [{ ...shard, runId, runDir, status: readResultFile(runDir)?.status ?? 'unfinished' }]
        : [];
    });
}

/** Which run directory holds which shard: the newest completed run of each index. */
export function shardRunDirs(runsDir: string): Map<number, ShardRun> {
  const done = new Map<number, ShardRun>();
  for (const run of shardRuns(runsDir)) if (run.status === 'completed') done.set(run.index, run);
  return done;
}

/** The shards of `count` with no completed run here: what a resume runs again. */
export function missingShards(runsDir: string, count: number): number[] {
  const done = shardRunDirs(runsDir);
  return Array.from({ length: count }, (_, i) => i).filter((i) => !done.has(i));
}

/** The newest run of a shard, whatever its status: the one a resume continues from its journal. */
export function latestShardRun(runsDir: string, index: number): ShardRun | undefined {
  return shardRuns(runsDir)
    .filter((r) => r.index === index)
    .pop();
}

/**
 * Runs one shard: the approved script with the shard's index (the script's `shard()` takes its
 * slice), its run directory marked with the shard at once, and its changes written as
 * `changes.bundle` in the run directory: nothing is pushed from a shard.
 */
export async function runShard(
  settings: RunnableSettings,
  script: ScriptToRun,
  shard: ShardOf,
): Promise<FinishedRun & { bundle?: string }> {
  if (script.resume !== undefined)
    await adoptWorkingCopy(settings.repoDir, {
      runId: script.resume,
      runDir: join(settings.runsDir, script.resume),
    });
  const summary = await runScript(
    { ...settings, shard: { index: shard.index } },
    {
      ...script,
      onEvent: (event) => {
        if (event.type === 'run.started')
          writeFileSync(join(settings.runsDir, event.runId, SHARD_FILE), `${JSON.stringify(shard)}\n`);
        script.onEvent?.(event);
      },
    },
  );
  const bundle = await writeChangesBundle(settings.repoDir, summary);
  return { ...summary, ...(bundle ? { bundle } : {}) };
}

/**
 * A killed run's working copy, downloaded onto a new runner: its files are there, but it is no
 * worktree of this checkout (git's records of it stayed on the old runner). Its files become the
 * branch `dwf/<run id>` on this checkout (the base, everything in it replaced by what the working
 * copy holds), and the copy is set aside, so the resumed run starts from them as from a branch.
 */
export async function adoptWorkingCopy(repoDir: string, previous: Pick<ShardRun, 'runDir' | 'runId'>) {
  const copy = join(previous.runDir, 'workspace');
  if (!existsSync(copy)) return;
  const listed = await git(repoDir, ['worktree', 'list', '--porcelain']);
  if (listed.split('\n').some((line) => line === `worktree ${realpathSync(copy)}`)) return;
  const base = (await git(repoDir, ['rev-parse', 'HEAD'])).trim();
  const scratch = `${copy}.adopting`;
  await git(repoDir, ['worktree', 'add', '--quiet', '-b', `dwf/${previous.runId}`, scratch, base]);
  for (const entry of readdirSync(scratch))
    if (entry !== '.git') rmSync(join(scratch, entry), { recursive: true });
  cpSync(copy, scratch, { recursive: true, filter: (path) => basename(path) !== '.git' });
  await git(scratch, ['add', '-A']);
  await git(
    scratch,
    [
      'commit',
      '--quiet',
      '--no-verify',
      '--allow-empty',
      '-m',
      `the working copy of killed run ${previous.runId}`,
    ],
    IDENTITY,
  );
  await git(repoDir, ['worktree', 'remove', '--force', scratch]);
  renameSync(copy, `${copy}.orphaned`);
}

/** The run's branch as a git bundle of base..branch in its run directory; none when it changed nothing. */
export async function writeChangesBundle(
  repoDir: string,
  summary: Pick<FinishedRun, 'runDir' | 'branch'>,
): Promise<string | undefined> {
  if (!summary.branch) return undefined;
  const changes = JSON.parse(readFileSync(join(summary.runDir, 'changes.json'), 'utf8')) as { base: string };
  const path = join(summary.runDir, CHANGES_BUNDLE);
  await runGit(['bundle', 'create', '--quiet', path, `refs/heads/${summary.branch}`, `^${changes.base}`], {
    cwd: repoDir,
  });
  return path;
}

type Spend = { total: UsageTotals; byModel: Map<string, UsageTotals> };

const zeroTotals = (): UsageTotals => ({
  agents: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  usd: null,
});

function add(into: UsageTotals, u: Omit<UsageTotals, 'usd' | 'agents'>, usd: number | null, agents: number) {
  into.agents += agents;
  into.inputTokens += u.inputTokens;
  into.outputTokens += u.outputTokens;
  into.cacheReadTokens += u.cacheReadTokens;
  into.cacheWriteTokens += u.cacheWriteTokens;
  if (usd !== null) into.usd = Math.round(((into.usd ?? 0) + usd) * 1e6) / 1e6;
}

function addTo(spend: Spend, model: string, u: UsageTotals) {
  add(spend.total, u, u.usd, u.agents);
  if (!spend.byModel.has(model)) spend.byModel.set(model, zeroTotals());
  add(spend.byModel.get(model)!, u, u.usd, u.agents);
}

/**
 * What one run spent with the model itself (answers it replayed from a journal were spent, and are
 * counted, by the run that first got them): usage.json of a finished run; for a killed one, the
 * journal entries it did not replay.
 */
export function liveSpend(runDir: string): Spend {
  const spend: Spend = { total: zeroTotals(), byModel: new Map() };
  const usage = readUsageFile(runDir) as
    | (ReturnType<typeof readUsageFile> & { byModel?: Record<string, UsageTotals> })
    | undefined;
  if (usage?.byModel) {
    for (const [model, u] of Object.entries(usage.byModel)) addTo(spend, model, u);
    return spend;
  }
  const started = readRunEvents(runDir).find((e) => e.type === 'run.started');
  const from = started?.type === 'run.started' ? started.resumedFrom : undefined;
  const replayed = new Set(
    from && isRunId(from)
      ? readJournal(join(runDir, '..', from, 'journal.jsonl')).map((e) => `${e.index} ${e.key}`)
      : [],
  );
  for (const entry of readJournal(join(runDir, 'journal.jsonl'))) {
    if (replayed.has(`${entry.index} ${entry.key}`)) continue;
    addTo(spend, entry.model, { agents: 1, ...entry.usage, usd: entry.usd });
  }
  return spend;
}

/**
 * The repository's tests, run once on the merged branch the way every piece of repository code
 * runs (isolated, or refused): the configured command, else the one the repository's files
 * suggest; none when there is neither.
 */
export async function mergedBranchTests(
  settings: Pick<RunSettings, 'repoDir' | 'oracle' | 'isolation' | 'secrets' | 'env' | 'signal'> & {
    runsDir: string;
  },
): Promise<MergeOptions['oracle']> {
  const command =
    settings.oracle.command ?? detectOracle(settings.repoDir, await trackedFiles(settings.repoDir))?.command;
  if (!command) return undefined;
  return async (dir) => {
    const runner = await createRepoCodeRunner({
      isolation: settings.isolation,
      repoDir: settings.repoDir,
      hide: [settings.runsDir, settings.repoDir],
    });
    const redactor = new Redactor(settings.secrets ?? [], settings.env ?? process.env);
    try {
      const result = await runOracle(
        { command, timeoutSeconds: settings.oracle.timeoutSeconds },
        {
          runner,
          redactor,
          signal: settings.signal ?? new AbortController().signal,
          onCommand: () => undefined,
        },
        dir,
      );
      return { command, passed: result.passed, summary: result.summary };
    } catch (error) {
      return { command, passed: false, summary: `not run: ${redactor.redact((error as Error).message)}` };
    }
  };
}

export interface MergeOptions {
  /** The repository directory at the base commit (the merge job's checkout). */
  repoDir: string;
  /** Where every shard's run directory was downloaded; the merge's own run directory goes here too. */
  runsDir: string;
  count: number;
  /** The workflow's name, for the report's title. */
  name: string;
  /** How to re-run only the missing shards, in the words of the door (`/workflow resume`). */
  resume: string;
  /** Runs the repository's tests on the merged branch's working tree, when given. */
  oracle?: (dir: string) => Promise<{ command: string; passed: boolean; summary: string }>;
}

export interface MergedShards {
  runId: string;
  runDir: string;
  status: 'completed' | 'partial';
  base: string;
  /** The branch holding every merged shard's changes; none when nothing merged. */
  branch?: string;
  shards: ShardOutcome[];
  /** Shards not on the branch: missing, or left out (conflicts, unreadable changes). */
  incomplete: number[];
  usage: UsageTotals;
  byModel: Record<string, UsageTotals>;
  /** Every completed shard's findings, in shard order. */
  findings: unknown[];
  files: string[];
  reportPath: string;
  oracle?: { command: string; passed: boolean; summary: string };
}

/** Merges one shard's bundle onto the merge worktree; a conflict is aborted and said. */
async function mergeOne(
  o: MergeOptions,
  worktree: string,
  base: string,
  run: ShardRun,
): Promise<{ files: string[] } | { why: string }> {
  const bundle = join(run.runDir, CHANGES_BUNDLE);
  if (!existsSync(bundle)) return { why: `its run directory has no ${CHANGES_BUNDLE}` };
  const ref = `refs/dwf-shards/${run.index}`;
  const branch = readResultFile(run.runDir)?.branch ?? `dwf/${run.runId}`;
  try {
    await git(o.repoDir, ['fetch', '--quiet', '--no-tags', bundle, `+refs/heads/${branch}:${ref}`]);
  } catch (error) {
    return { why: `its ${CHANGES_BUNDLE} could not be read (${(error as Error).message.slice(0, 300)})` };
  }
  const files = (await git(o.repoDir, ['diff', '--name-only', base, ref])).split('\n').filter(Boolean);
  try {
    await git(
      worktree,
      ['merge', '--quiet', '--no-ff', '--no-edit', '-m', `shard ${run.index}: run ${run.runId}`, ref],
      IDENTITY,
    );
    return { files };
  } catch {
    const conflicted = (await git(worktree, ['diff', '--name-only', '--diff-filter=U']))
      .split('\n')
      .filter(Boolean);
    await git(worktree, ['merge', '--abort']);
    return {
      why: `its changes conflict with the shards merged before it${conflicted.length > 0 ? ` in ${conflicted.join(', ')}` : ''}`,
    };
  } finally {
    await git(o.repoDir, ['update-ref', '-d', ref]);
  }
}

/** One shard's line of the report, and its changes merged (or not) onto the worktree. */
async function outcomeOf(
  o: MergeOptions,
  worktree: string,
  base: string,
  index: number,
  runs: ShardRun[],
): Promise<ShardOutcome> {
  const attempts = runs.filter((r) => r.index === index);
  const spent = zeroTotals();
  for (const r of attempts) {
    const t = liveSpend(r.runDir).total;
    add(spent, t, t.usd, t.agents);
  }
  const done = attempts.filter((r) => r.status === 'completed').pop();
  const common = { index, attempts: attempts.length, spent, files: [] as string[] };
  if (!done) {
    const newest = attempts.at(-1);
    return {
      ...common,
      state: 'missing',
      replayedAgents: 0,
      ...(newest ? { status: newest.status } : {}),
      why: newest
        ? `its newest run \`${newest.runId}\` is ${newest.status === 'unfinished' ? 'unfinished (killed or cancelled)' : newest.status}`
        : 'no run of it is here (it never started, or its artifact was not uploaded)',
    };
  }
  const result = readResultFile(done.runDir);
  const reportPath = join(done.runDir, 'report.md');
  const about = {
    ...common,
    runId: done.runId,
    replayedAgents: result?.replayedAgents ?? 0,
    ...(existsSync(reportPath) ? { report: readFileSync(reportPath, 'utf8') } : {}),
  };
  if (!result?.branch) return { ...about, state: 'no changes' };
  const merged = await mergeOne(o, worktree, base, done);
  return 'why' in merged
    ? { ...about, state: 'left out', why: merged.why }
    : { ...about, state: 'merged', files: merged.files };
}

/**
 * Merges every shard's changes, in shard order, onto one branch `dwf/<merge run id>` from the
 * checkout's HEAD (git resolves what it can; a shard that conflicts is left out, its merge aborted,
 * and said), sums what every attempt of every shard spent, and writes one report.md in the merge's
 * own run directory. The checkout's working tree is not touched: the merge happens in a worktree.
 */
export async function mergeShards(o: MergeOptions): Promise<MergedShards> {
  const base = (await git(o.repoDir, ['rev-parse', 'HEAD'])).trim();
  const runId = newRunId(new Date());
  const runDir = join(o.runsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const branch = `dwf/${runId}`;
  const worktree = join(runDir, 'workspace');
  await git(o.repoDir, ['worktree', 'add', '--quiet', '-b', branch, worktree, base]);
  const runs = shardRuns(o.runsDir).filter((r) => r.count === o.count);
  const shards: ShardOutcome[] = [];
  for (let index = 0; index < o.count; index++) shards.push(await outcomeOf(o, worktree, base, index, runs));
  const anyMerged = shards.some((s) => s.state === 'merged');
  const oracle = anyMerged && o.oracle ? await o.oracle(worktree) : undefined;
  await git(o.repoDir, ['worktree', 'remove', '--force', worktree]);
  if (!anyMerged) await git(o.repoDir, ['branch', '-D', branch]);

  const total = zeroTotals();
  const byModel = new Map<string, UsageTotals>();
  for (const r of runs) {
    const spend = liveSpend(r.runDir);
    for (const [model, u] of spend.byModel) {
      addTo({ total, byModel }, model, u);
    }
  }
  const findings = shards.flatMap((s) =>
    s.runId && s.state !== 'left out' ? findingsOf(readResultFile(join(o.runsDir, s.runId))?.result) : [],
  );
  const files = [...new Set(shards.flatMap((s) => (s.state === 'merged' ? s.files : [])))].sort();
  const report = renderShardsReport({
    name: o.name,
    runId,
    count: o.count,
    base,
    ...(anyMerged ? { branch } : {}),
    shards,
    totals: total,
    byModel: Object.fromEntries(byModel),
    resume: o.resume,
    ...(oracle ? { oracle } : {}),
  });
  const reportPath = join(runDir, 'report.md');
  writeFileSync(reportPath, report);
  const usage = { totals: total, byModel: Object.fromEntries(byModel) };
  writeJsonAtomic(join(runDir, 'usage.json'), usage);
  writeJsonAtomic(join(runDir, 'changes.json'), { files, ...(anyMerged ? { branch, base } : {}) });
  const merged: MergedShards = {
    runId,
    runDir,
    status: shardsStatus(shards),
    base,
    ...(anyMerged ? { branch } : {}),
    shards,
    incomplete: shards.filter((s) => s.state === 'missing' || s.state === 'left out').map((s) => s.index),
    usage: total,
    byModel: Object.fromEntries(byModel),
    findings,
    files,
    reportPath,
    ...(oracle ? { oracle } : {}),
  };
  writeJsonAtomic(join(runDir, 'merge.json'), { ...merged, shards: shards.map(({ report: _, ...s }) => s) });
  return merged;
}
