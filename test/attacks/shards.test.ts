import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runShardJob } from '../../src/action/shard-mode.js';
import { startShards } from '../../src/action/shards-mode.js';
import { mergeShards } from '../../src/flows/merge-shards.js';
import { shardRuns } from '../../src/flows/shards.js';
import { runMarker } from '../../src/github/approval.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { bundledShardRun, exampleCheckout, git } from '../action/checkout.js';
import { approvalOf, approvedPlan, BOT, config, fakeGitHub, type Row } from '../action/sharded-plan.js';
import { tempDir } from '../helpers.js';

/**
 * Attacks on sharded runs (issue 15) that are already stopped: forged dispatch inputs, forged
 * markers, run directories and bundles that try to climb out or bring more than the shard's branch.
 */

const fixtures = join(import.meta.dirname, '..', '..', 'examples', 'workflows', 'audit.replies.json');

describe('forged dispatch inputs and forged markers of a sharded run are refused before anything is spent', () => {
  test('shard indexes out of range, a progress comment that is not the bot’s, or not in this thread', async () => {
    const { checkout, sha, thread, plan } = await approvedPlan();
    expect(plan.shards?.count).toBe(3);
    const progress: Row = { id: 300, body: `Running\n\n${runMarker('plan-1')}`, login: BOT };
    let spent = 0;
    const provider = createFixtureProvider(fixtures);
    const counting = {
      ...provider,
      complete: async (...args: Parameters<typeof provider.complete>) => {
        spent++;
        return provider.complete(...args);
      },
    };
    const shard = (rows: Row[], progressCommentId: number) => ({
      ...approvalOf(fakeGitHub(rows).github, sha),
      progressCommentId,
      repoDir: checkout,
      runsDir: tempDir(),
      provider: counting,
    });
    // Indexes the plan does not have (GitHub carries the input as text: NaN, fractions, negatives).
    for (const index of [-1, 3, 1.5, Number.NaN, Number('0x10'), 256]) {
      const outcome = await runShardJob({ ...shard([...thread, progress], 300), shard: index });
      expect(outcome.status).toBe('refused');
    }
    // An attacker's comment imitating the run marker, handed over as the progress comment.
    const forged: Row = { id: 301, body: `Running\n\n${runMarker('plan-1')}`, login: 'mallory' };
    expect(await runShardJob({ ...shard([...thread, progress, forged], 301), shard: 0 })).toEqual({
      status: 'refused',
      reason: 'comment 301 is not the progress comment of this run',
    });
    // A comment of another issue (not in this thread), even one the bot wrote.
    expect(await runShardJob({ ...shard([...thread, progress], 4242), shard: 0 })).toEqual({
      status: 'refused',
      reason: 'comment 4242 is not the progress comment of this run',
    });
    // The bot's plan comment itself, or its approval, named as the progress comment.
    for (const id of [100, 101]) {
      expect((await runShardJob({ ...shard([...thread, progress], id), shard: 0 })).status).toBe('refused');
    }
    // A forged marker from a user, newer than the bot's progress comment, does not displace it:
    // the bot's comment is still this run's, and no forged shard state makes the plan re-runnable.
    const forgedLater: Row = {
      id: 302,
      body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-abcdef', actionsRunId: '1' })}`,
      login: 'mallory',
    };
    const started = await startShards({
      ...approvalOf(fakeGitHub([...thread, progress, forgedLater]).github, sha),
      repoDir: checkout,
      runsDir: tempDir(),
    });
    expect(started).toMatchObject({
      status: 'refused',
      reason: 'plan `plan-1` has run already; ask for a new plan to run again',
    });
    // An approval by someone who can no longer approve (read role now), however the thread reads.
    const byReader = thread.map((c) =>
      c.id === 50
        ? { ...c, login: 'reader' }
        : c.id === 101
          ? { ...c, body: c.body.replace('"maintainer"', '"reader"') }
          : c,
    );
    expect(
      (
        await startShards({
          ...approvalOf(fakeGitHub(byReader).github, sha),
          repoDir: checkout,
          runsDir: tempDir(),
        })
      ).status,
    ).toBe('refused');
    expect(spent).toBe(0);
  }, 120_000);
});

describe('a plan comment that is not the bot’s newest plan', () => {
  test('an attacker’s verbatim copy of the plan, or an older plan of the bot, named as plan_comment_id: refused', async () => {
    const { checkout, sha, thread } = await approvedPlan();
    const plan = thread[0]!;
    const o = {
      issue: 7,
      scriptSha256: sha,
      config: config(),
      trusted: [BOT],
      repoDir: checkout,
      runsDir: tempDir(),
    };
    // A copy posted by mallory after the bot's plan, marker and all.
    const copy: Row = { id: 400, body: plan.body, login: 'mallory' };
    const withCopy = fakeGitHub([...thread, copy]);
    expect(await startShards({ ...o, github: withCopy.github, planCommentId: 400 })).toMatchObject({
      status: 'refused',
      reason: 'comment 400 is not the newest plan in this thread; a newer plan voids older ones',
    });
    // A newer bot plan (not approved) voids the approved one.
    const newer: Row = { id: 401, body: plan.body.replace('"plan-1"', '"plan-2"'), login: BOT };
    expect(
      (await startShards({ ...o, github: fakeGitHub([...thread, newer]).github, planCommentId: 100 })).status,
    ).toBe('refused');
    expect(withCopy.posted.every((b) => b.startsWith('Did not run'))).toBe(true);
  }, 120_000);
});

describe('run directories and bundles from artifacts bring nothing but the shard’s own branch', () => {
  test('run directories that name a shard outside the count, climb out or are no run ids are ignored', () => {
    const runsDir = tempDir();
    const put = (name: string, shard: unknown, status = 'completed') => {
      mkdirSync(join(runsDir, name), { recursive: true });
      writeFileSync(join(runsDir, name, 'result.json'), JSON.stringify({ status, shard }));
    };
    put('20261126-080000-aaaaaa', { index: 3, count: 3 });
    put('20261126-080000-bbbbbb', { index: -1, count: 3 });
    put('20261126-080000-cccccc', { index: 0.5, count: 3 });
    put('20261126-080000-dddddd', { index: '0', count: 3 });
    put('not-a-run', { index: 0, count: 3 });
    put('..%2f..%2fetc', { index: 0, count: 3 });
    put('20261126-080000-eeeeee', { index: 1, count: 3 });
    expect(shardRuns(runsDir).map((r) => [r.runId, r.index])).toEqual([['20261126-080000-eeeeee', 1]]);
  });

  test('a bundle that also carries main, a tag and another branch: only dwf/<run id> is merged, no ref of the checkout moves', async () => {
    const { checkout } = exampleCheckout();
    const base = git(checkout, 'rev-parse', 'HEAD');
    const runId = '20261126-080000-0a0a0a';
    // The shard's own branch: one harmless change.
    git(checkout, 'checkout', '-q', '-b', `dwf/${runId}`);
    writeFileSync(join(checkout, 'SHARD.md'), 'shard 0\n');
    git(checkout, 'add', 'SHARD.md');
    git(checkout, 'commit', '-q', '-m', 'shard 0');
    // Refs an attacker adds to the bundle.
    git(checkout, 'checkout', '-q', '-b', 'evil', base);
    writeFileSync(join(checkout, 'EVIL.md'), 'evil\n');
    git(checkout, 'add', 'EVIL.md');
    git(checkout, 'commit', '-q', '-m', 'evil');
    git(checkout, 'tag', 'v9.9.9');
    const runsDir = bundledShardRun(checkout, base, runId, [
      `refs/heads/dwf/${runId}`,
      'refs/heads/evil',
      'refs/tags/v9.9.9',
    ]);
    // A clean checkout as the merge job has it, at the base.
    const mergeCheckout = join(tempDir(), 'merge');
    git(checkout, 'clone', '-q', '--no-tags', '--single-branch', '--branch', 'main', checkout, mergeCheckout);
    const refsBefore = git(mergeCheckout, 'for-each-ref', '--format=%(refname) %(objectname)');
    const merged = await mergeShards({ repoDir: mergeCheckout, runsDir, count: 1, resume: 'resume' });
    expect(merged.shards[0]!.state).toBe('merged');
    expect(merged.files).toEqual(['SHARD.md']);
    const onBranch = git(mergeCheckout, 'ls-tree', '-r', '--name-only', merged.branch!);
    expect(onBranch).toContain('SHARD.md');
    expect(onBranch).not.toContain('EVIL.md');
    const refsAfter = git(mergeCheckout, 'for-each-ref', '--format=%(refname) %(objectname)');
    // Only the merge's own branch is new; main did not move; no tag, no evil branch, no refs/dwf-shards left.
    expect(refsAfter.split('\n').filter((l) => !refsBefore.includes(l) && l.trim() !== '')).toEqual([
      expect.stringMatching(new RegExp(`^refs/heads/${merged.branch!.replace(/\//g, '\\/')} `)),
    ]);
  }, 60_000);
});
