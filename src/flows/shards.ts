import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGit } from '../agents/git.js';
import { isRunId } from '../engine/run-dir.js';
import { readResultFile } from '../engine/run-record.js';
import { type FinishedRun, type RunnableSettings, runScript, type ScriptToRun } from './run.js';

/**
 * A sharded run (issue 15): each runner runs the approved script on its slice of the list and leaves
 * its run directory (with its changes as `changes.bundle`) as an artifact; one merge step
 * (merge-shards.ts) reads every shard's run directory, merges their changes onto one branch from
 * the base, and writes one report. This file: which run directory is which shard, and one shard's
 * run. GitHub-free: the action's shards, shard and merge modes call these.
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

function validShard(value: unknown): ShardOf | undefined {
  const s = value as Partial<ShardOf> | null | undefined;
  return Number.isInteger(s?.index) && Number.isInteger(s?.count) && s!.index! >= 0 && s!.count! > s!.index!
    ? { index: s!.index!, count: s!.count! }
    : undefined;
}

/**
 * The shard a run directory belongs to: the run record's (`result`, when the caller has read it),
 * else the file written at its start.
 */
export function shardOf(runDir: string, result = readResultFile(runDir)): ShardOf | undefined {
  const recorded = validShard((result as { shard?: unknown } | undefined)?.shard);
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
      const result = readResultFile(runDir);
      const shard = shardOf(runDir, result);
      return shard ? [{ ...shard, runId, runDir, status: result?.status ?? 'unfinished' }] : [];
    });
}

/**
 * The newest completed run of each shard index among `runs` (`shardRuns`); given a count, only runs
 * of a split into that many shards, as the merge counts them (merge-shards.ts).
 */
export function completedShards(runs: readonly ShardRun[], count?: number): Map<number, ShardRun> {
  const done = new Map<number, ShardRun>();
  for (const run of runs)
    if (run.status === 'completed' && (count === undefined || run.count === count)) done.set(run.index, run);
  return done;
}

/** Which run directory holds which shard: the newest completed run of each index. */
export function shardRunDirs(runsDir: string): Map<number, ShardRun> {
  return completedShards(shardRuns(runsDir));
}

/** The shards of `count` with no completed run among `done` (`completedShards`): what a resume runs again. */
export function shardsNotIn(done: ReadonlyMap<number, ShardRun>, count: number): number[] {
  return Array.from({ length: count }, (_, i) => i).filter((i) => !done.has(i));
}

/** The shards of `count` with no completed run here: what a resume runs again. */
export function missingShards(runsDir: string, count: number): number[] {
  return shardsNotIn(completedShards(shardRuns(runsDir), count), count);
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
