import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeJsonAtomic } from '../../src/engine/run-dir.js';
import { liveSpend, mergeShards } from '../../src/flows/merge-shards.js';
import { latestShardRun, missingShards, shardRunDirs, writeChangesBundle } from '../../src/flows/shards.js';
import { MAX_REPORT_CHARS, renderShardsReport } from '../../src/report/shards-report.js';
import { git, tempDir } from '../helpers.js';

/** A repository with two files and its base commit; the merge works in a clone of it. */
function repository() {
  const repo = tempDir('dwf-shards-repo-');
  git(repo, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  writeFileSync(join(repo, 'b.txt'), 'b\n');
  git(repo, 'add', '-A');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'base');
  return { repo, base: git(repo, 'rev-parse', 'HEAD') };
}

const usage = (agents: number, input: number, output: number, usd: number) => ({
  agents,
  inputTokens: input,
  outputTokens: output,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  usd,
});

/**
 * One shard's run directory as a shard job leaves it: the run record with its shard, usage.json,
 * and (when it changed files) its branch as changes.bundle. `unfinished` leaves what a killed run
 * leaves: shard.json and its journal.
 */
async function shardRun(
  repo: string,
  runsDir: string,
  o: {
    runId: string;
    index: number;
    count: number;
    files?: Record<string, string>;
    unfinished?: boolean;
    spent?: ReturnType<typeof usage>;
  },
) {
  const runDir = join(runsDir, o.runId);
  mkdirSync(runDir, { recursive: true });
  if (o.unfinished) {
    writeFileSync(join(runDir, 'shard.json'), JSON.stringify({ index: o.index, count: o.count }));
    const entry = (index: number) => ({
      index,
      key: `k${index}`,
      model: 'claude-sonnet-5-5',
      result: {},
      usage: { inputTokens: 1000, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0 },
      usd: 0.0033,
    });
    writeFileSync(
      join(runDir, 'journal.jsonl'),
      `${JSON.stringify(entry(0))}\n${JSON.stringify(entry(1))}\n`,
    );
    return runDir;
  }
  const branch = o.files ? `dwf/${o.runId}` : undefined;
  if (o.files) {
    const base = git(repo, 'rev-parse', 'HEAD');
    const work = join(runDir, 'workspace');
    git(repo, 'worktree', 'add', '-q', '-b', branch!, work, base);
    for (const [file, content] of Object.entries(o.files)) writeFileSync(join(work, file), content);
    git(work, 'add', '-A');
    git(work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', `shard ${o.index}`);
    git(repo, 'worktree', 'remove', '--force', work);
    writeJsonAtomic(join(runDir, 'changes.json'), { branch, base, files: Object.keys(o.files) });
  }
  writeJsonAtomic(join(runDir, 'result.json'), {
    runId: o.runId,
    status: 'completed',
    result: { findings: [{ title: `finding of shard ${o.index}`, status: 'fixed' }] },
    replayedAgents: 0,
    shard: { index: o.index, count: o.count },
    ...(branch ? { branch } : {}),
  });
  const spent = o.spent ?? usage(2, 2000, 40, 0.0066);
  writeJsonAtomic(join(runDir, 'usage.json'), {
    totals: spent,
    byModel: { 'claude-sonnet-5-5': spent },
    byPhase: {},
    replayedFromJournal: usage(0, 0, 0, 0),
  });
  writeFileSync(join(runDir, 'report.md'), `# audit: completed\n\n## Findings\n\nshard ${o.index}\n`);
  if (branch) await writeChangesBundle(repo, { runDir, branch });
  return runDir;
}

describe('sharded runs: finding the shards and merging them', () => {
  test('merges every shard in order onto one branch, leaves out a conflicting one, names a missing one, and sums the spend', async () => {
    const { repo } = repository();
    const runsDir = tempDir('dwf-shards-runs-');
    await shardRun(repo, runsDir, {
      runId: '20261126-080000-000000',
      index: 0,
      count: 4,
      files: { 'a.txt': 'A\n' },
    });
    await shardRun(repo, runsDir, {
      runId: '20261126-080001-000001',
      index: 1,
      count: 4,
      files: { 'b.txt': 'B\n' },
    });
    // Shard 2 changes a.txt too: it conflicts with shard 0, merged before it.
    await shardRun(repo, runsDir, {
      runId: '20261126-080002-000002',
      index: 2,
      count: 4,
      files: { 'a.txt': 'x\n' },
    });
    // Shard 3 was killed: two agents answered before.
    await shardRun(repo, runsDir, { runId: '20261126-080003-000003', index: 3, count: 4, unfinished: true });

    expect([...shardRunDirs(runsDir).keys()]).toEqual([0, 1, 2]);
    expect(missingShards(runsDir, 4)).toEqual([3]);
    expect(latestShardRun(runsDir, 3)).toMatchObject({
      runId: '20261126-080003-000003',
      status: 'unfinished',
    });
    expect(liveSpend(latestShardRun(runsDir, 3)!.runDir).total).toEqual(usage(2, 2000, 40, 0.0066));

    // The merge job's checkout: a clone at the base, without the shards' branches.
    const checkout = tempDir('dwf-shards-checkout-');
    git(checkout, 'clone', '-q', repo, '.');
    const merged = await mergeShards({
      repoDir: checkout,
      runsDir,
      count: 4,
      name: 'audit',
      resume: 'Reply `/workflow resume` to run only the missing shards again.',
    });
    expect(merged.status).toBe('partial');
    expect(merged.shards.map((s) => s.state)).toEqual(['merged', 'merged', 'left out', 'missing']);
    expect(merged.shards[2]!.why).toBe('its changes conflict with the shards merged before it in a.txt');
    expect(merged.incomplete).toEqual([2, 3]);
    expect(git(checkout, 'show', `${merged.branch}:a.txt`)).toBe('A');
    expect(git(checkout, 'show', `${merged.branch}:b.txt`)).toBe('B');
    // The checkout itself is untouched, and no merge is left half done.
    expect(git(checkout, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(checkout, 'a.txt'), 'utf8')).toBe('a\n');
    // Three completed shards and the killed one's two agents: every token counted once.
    expect(merged.usage).toEqual(usage(8, 8000, 160, 0.0264));
    expect(merged.byModel).toEqual({ 'claude-sonnet-5-5': usage(8, 8000, 160, 0.0264) });
    expect(merged.findings).toHaveLength(2);
    const report = readFileSync(merged.reportPath, 'utf8');
    expect(report).toContain('# audit: partial');
    expect(report).toContain('> **2 shards not in this branch**: shard 2 (left out: its changes conflict');
    expect(report).toContain(
      'shard 3 (its newest run `20261126-080003-000003` is unfinished (killed or cancelled))',
    );
    expect(report).toContain('> Reply `/workflow resume` to run only the missing shards again.');
    expect(report).toContain('| 3 | unfinished | – | 1 | 2 | 2040 | $0.0066 | missing:');
    expect(report).toContain('| total | 8 | 8000 | 0 | 0 | 160 | $0.0264 |');
    expect(report).toContain(
      '## Shard 1 (run `20261126-080001-000001`)\n\n### audit: completed\n\n#### Findings',
    );
  });

  test('sums the parts written for an hour and billed as batches too, and says what the batches saved', async () => {
    const { repo } = repository();
    const runsDir = tempDir('dwf-shards-runs-');
    // 1000 input tokens, 200 of them batched, and 100 cache-write tokens written for an hour.
    const spent = {
      ...usage(1, 1000, 10, 0.004),
      cacheWriteTokens: 100,
      cacheWrite1hTokens: 100,
      batch: { inputTokens: 200, outputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0 },
    };
    for (const index of [0, 1])
      await shardRun(repo, runsDir, {
        runId: `20261126-09000${index}-00000${index}`,
        index,
        count: 2,
        spent,
      });
    const checkout = tempDir('dwf-shards-checkout-');
    git(checkout, 'clone', '-q', repo, '.');
    const merged = await mergeShards({
      repoDir: checkout,
      runsDir,
      count: 2,
      name: 'audit',
      resume: 'resume',
    });
    expect(merged.byModel['claude-sonnet-5-5']).toEqual({
      ...usage(2, 2000, 20, 0.008),
      cacheWriteTokens: 200,
      cacheWrite1hTokens: 200,
      batch: { inputTokens: 400, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expect(readFileSync(merged.reportPath, 'utf8')).toMatch(
      /Batch API: \$0\.0080 instead of \$0\.\d+ at standard prices \(saved \$0\.\d+\)\./,
    );
  });

  test('a resumed shard replaces its killed run; the replayed answers are counted once, where they were spent', async () => {
    const { repo } = repository();
    const runsDir = tempDir('dwf-shards-runs-');
    await shardRun(repo, runsDir, { runId: '20261126-080000-000000', index: 0, count: 2 });
    const killed = await shardRun(repo, runsDir, {
      runId: '20261126-080001-000001',
      index: 1,
      count: 2,
      unfinished: true,
    });
    expect(missingShards(runsDir, 2)).toEqual([1]);
    await shardRun(repo, runsDir, {
      runId: '20261126-090000-000002',
      index: 1,
      count: 2,
      files: { 'b.txt': 'B\n' },
    });
    expect(missingShards(runsDir, 2)).toEqual([]);
    expect(shardRunDirs(runsDir).get(1)!.runId).toBe('20261126-090000-000002');

    const merged = await mergeShards({ repoDir: repo, runsDir, count: 2, name: 'audit', resume: '-' });
    expect(merged.status).toBe('completed');
    expect(merged.shards.map((s) => [s.state, s.attempts])).toEqual([
      ['no changes', 1],
      ['merged', 2],
    ]);
    expect(merged.usage.inputTokens).toBe(2000 + 2000 + 2000);
    expect(killed).toContain('080001');
    expect(git(repo, 'show', `${merged.branch}:b.txt`)).toBe('B');
  });

  test('a run directory that says nothing of a shard, or a merge with nothing to merge, leaves no branch', async () => {
    const { repo } = repository();
    const runsDir = tempDir('dwf-shards-runs-');
    mkdirSync(join(runsDir, '20261126-080000-000000'));
    expect(missingShards(runsDir, 2)).toEqual([0, 1]);
    const merged = await mergeShards({ repoDir: repo, runsDir, count: 2, name: 'audit', resume: '-' });
    expect(merged.branch).toBeUndefined();
    expect(git(repo, 'branch', '--list', 'dwf/*')).toBe('');
    expect(readFileSync(merged.reportPath, 'utf8')).toContain('no run of it is here');
  });

  test("the shards' own reports are left out, and said, past what a pull request's body may hold", () => {
    const spent = usage(1, 1000, 20, 0.0022);
    const shard = (index: number) => ({
      index,
      state: 'no changes' as const,
      runId: `20261126-08000${index}-00000${index}`,
      files: [],
      attempts: 1,
      spent,
      replayedAgents: 0,
      report: `# audit: completed\n\n${'x'.repeat(MAX_REPORT_CHARS / 2.5)}\n`,
    });
    const report = renderShardsReport({
      name: 'audit',
      runId: '20261126-090000-000000',
      count: 3,
      base: 'a'.repeat(40),
      shards: [shard(0), shard(1), shard(2)],
      totals: usage(3, 3000, 60, 0.0066),
      byModel: {},
      resume: '-',
    });
    expect(report.length).toBeLessThan(MAX_REPORT_CHARS);
    expect(report).toContain('## Shard 1 (run');
    expect(report).not.toContain('## Shard 2 (run');
    expect(report).toContain(
      "The own reports of shard 2 are left out here to keep within a pull request's size: each is `report.md` in its run directory.",
    );
  });
});
