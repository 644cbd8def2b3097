import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workflowDirOf } from '../agents/confine.js';
import { IDENTITY, runGit, trackedFiles } from '../agents/git.js';
import { createRepoCodeRunner } from '../agents/isolation.js';
import { Redactor } from '../agents/secrets.js';
import { runOracle } from '../agents/tools.js';
import { readJournal } from '../engine/journal.js';
import { isRunId, newRunId, writeJsonAtomic } from '../engine/run-dir.js';
import { readResultFile, readRunEvents, readUsageFile } from '../engine/run-record.js';
import type { UsageTotals } from '../engine/usage.js';
import { addUsage, type Usage } from '../models/types.js';
import { detectOracle } from '../plan/assess.js';
import { findingsOf } from '../report/report.js';
import { renderShardsReport, type ShardOutcome, shardsStatus } from '../report/shards-report.js';
import type { RunSettings } from './settings.js';
import { CHANGES_BUNDLE, type ShardRun, shardRuns } from './shards.js';

/**
 * The merge step of a sharded run (issue 15): every shard's changes, from the bundles in their run
 * directories, merged in shard order onto one branch from the base; what every attempt of every
 * shard spent, summed exactly; one report. See shards.ts for the shards themselves.
 */

const git = (cwd: string, args: string[], config: Array<[string, string]> = []) =>
  runGit(args, { cwd, config });

type Spend = { total: UsageTotals; byModel: Map<string, UsageTotals> };

const zeroTotals = (): UsageTotals => ({
  agents: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  usd: null,
});

/** Adds a usage to totals: the four counts and the parts written for an hour or billed as batches. */
function add(into: UsageTotals, u: Usage, usd: number | null, agents: number) {
  Object.assign(into, addUsage(into, u));
  into.agents += agents;
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

/** What a shard's result.json holds beside the run record's common fields (engine/finish.ts writes it). */
type RecordedRun = ReturnType<typeof readResultFile> & {
  failedAgents?: number;
  failures?: Record<string, number>;
};

export interface MergeOptions {
  /** The repository directory at the base commit (the merge job's checkout). */
  repoDir: string;
  /** Where every shard's run directory was downloaded; the merge's own run directory goes here too. */
  runsDir: string;
  count: number;
  /** The workflow's name, for the report's title; default: the name the shards' runs recorded. */
  name?: string;
  /** How to re-run only the missing shards, in the words of the door (`/workflow resume`). */
  resume: string;
  /** Runs the repository's tests on the merged branch's working tree, when given. */
  oracle?: (dir: string) => Promise<{ command: string; passed: boolean; summary: string }>;
  /**
   * Merge onto an earlier attempt's branch instead of a new one from the base (a resume whose
   * first merge opened a pull request): its name and its tip. The shards it holds merge again as
   * nothing new, so the branch only moves forward.
   */
  onto?: { branch: string; tip: string };
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
  /** Agents of the completed shards' runs that failed, and why (as each run recorded them). */
  failedAgents: number;
  failures: Record<string, number>;
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
  // The branch a run commits to (agents/workspace.ts), never a name read from the artifact.
  const branch = `dwf/${run.runId}`;
  try {
    await git(o.repoDir, ['fetch', '--quiet', '--no-tags', bundle, `+refs/heads/${branch}:${ref}`]);
  } catch (error) {
    return { why: `its ${CHANGES_BUNDLE} could not be read (${(error as Error).message.slice(0, 300)})` };
  }
  const files = (await git(o.repoDir, ['diff', '--name-only', base, ref])).split('\n').filter(Boolean);
  // Agents cannot write workflows (agents/confine.ts); a bundle that does anyway came from elsewhere,
  // and its push would be refused as a whole: the shard is left out, the others still merge.
  const workflow = files.find((f) => workflowDirOf(f) !== undefined);
  if (workflow !== undefined) {
    await git(o.repoDir, ['update-ref', '-d', ref]);
    return {
      why: `its changes touch ${workflow}, under ${workflowDirOf(workflow)}/, which agents may not change (the job token could not push it)`,
    };
  }
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
  spends: ReadonlyMap<string, Spend>,
): Promise<ShardOutcome> {
  const attempts = runs.filter((r) => r.index === index);
  const spent = zeroTotals();
  for (const r of attempts) {
    const t = spends.get(r.runDir)!.total;
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
  const branch = o.onto?.branch ?? `dwf/${runId}`;
  const worktree = join(runDir, 'workspace');
  await git(o.repoDir, ['worktree', 'add', '--quiet', '-b', branch, worktree, o.onto?.tip ?? base]);
  const runs = shardRuns(o.runsDir).filter((r) => r.count === o.count);
  // What each run spent, read once: for its shard's line and for the totals.
  const spends = new Map(runs.map((r) => [r.runDir, liveSpend(r.runDir)]));
  const shards: ShardOutcome[] = [];
  let oracle: Awaited<ReturnType<NonNullable<MergeOptions['oracle']>>> | undefined;
  try {
    for (let index = 0; index < o.count; index++)
      shards.push(await outcomeOf(o, worktree, base, index, runs, spends));
    if (o.oracle && shards.some((s) => s.state === 'merged')) oracle = await o.oracle(worktree);
  } finally {
    await git(o.repoDir, ['worktree', 'remove', '--force', worktree]);
  }
  const anyMerged = shards.some((s) => s.state === 'merged');
  if (!anyMerged) await git(o.repoDir, ['branch', '-D', branch]);

  const total = zeroTotals();
  const byModel = new Map<string, UsageTotals>();
  for (const spend of spends.values()) {
    for (const [model, u] of spend.byModel) addTo({ total, byModel }, model, u);
  }
  // What the completed shards' runs recorded, those left out of the branch not counted.
  const results = shards.flatMap((s) =>
    s.runId && s.state !== 'left out'
      ? [readResultFile(join(o.runsDir, s.runId)) as RecordedRun | undefined]
      : [],
  );
  const findings = results.flatMap((r) => findingsOf(r?.result));
  const failures: Record<string, number> = {};
  for (const [reason, n] of results.flatMap((r) => Object.entries(r?.failures ?? {})))
    failures[reason] = (failures[reason] ?? 0) + n;
  const failedAgents = results.reduce((n, r) => n + (r?.failedAgents ?? 0), 0);
  const files = [...new Set(shards.flatMap((s) => (s.state === 'merged' ? s.files : [])))].sort();
  const report = renderShardsReport({
    name:
      o.name ?? runs.map((r) => readResultFile(r.runDir)?.name).find((n) => n !== undefined) ?? 'sharded run',
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
    failedAgents,
    failures,
    files,
    reportPath,
    ...(oracle ? { oracle } : {}),
  };
  writeJsonAtomic(join(runDir, 'merge.json'), { ...merged, shards: shards.map(({ report: _, ...s }) => s) });
  return merged;
}
