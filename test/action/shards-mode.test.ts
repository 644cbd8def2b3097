import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mergeShardsJob } from '../../src/action/merge-mode.js';
import { runShardJob } from '../../src/action/shard-mode.js';
import { startShards } from '../../src/action/shards-mode.js';
import { runMarker } from '../../src/github/approval.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { budgetEach } from '../../src/plan/shards.js';
import { tempDir } from '../helpers.js';
import { approvalOf, approvedPlan, BOT, fakeGitHub } from './sharded-plan.js';

describe('the sharded modes refuse what they must, before anything is spent', () => {
  test('an unsharded plan is refused by the shards job, and said on the issue', async () => {
    const { checkout, sha, thread } = await approvedPlan(false);
    const { github, posted } = fakeGitHub(thread);
    const outcome = await startShards({
      ...approvalOf(github, sha),
      repoDir: checkout,
      runsDir: tempDir(),
    });
    expect(outcome).toEqual({
      status: 'refused',
      reason:
        'plan `plan-1` is not sharded (its plan names no shards); it runs as one job, dispatched with mode `run`',
    });
    expect(posted).toEqual([`Did not run: ${(outcome as { reason: string }).reason}.`]);
  }, 60_000);

  test('a sharded plan that ran already is refused; the progress comment its own jobs leave out is not', async () => {
    const { checkout, sha, thread, plan } = await approvedPlan(true);
    expect(plan.shards?.count).toBe(3);
    const { github } = fakeGitHub([
      ...thread,
      { id: 300, body: `Running\n\n${runMarker('plan-1')}`, login: BOT },
    ]);
    const o = approvalOf(github, sha);
    expect(await startShards({ ...o, repoDir: checkout, runsDir: tempDir() })).toMatchObject({
      status: 'refused',
      reason: 'plan `plan-1` has run already; ask for a new plan to run again',
    });
    // A shard job given a shard the plan does not have: refused once the approval checks out.
    const shard = {
      ...o,
      progressCommentId: 300,
      repoDir: checkout,
      runsDir: tempDir(),
      provider: createFixtureProvider(
        join(import.meta.dirname, '..', '..', 'examples', 'workflows', 'audit.replies.json'),
      ),
    };
    expect(await runShardJob({ ...shard, shard: 3 })).toEqual({
      status: 'refused',
      reason: 'the shard input 3 is not a shard of plan `plan-1`, which has 3 (0 to 2)',
    });
    // A finished run's comment (it names Actions run 77) handed to a job of run 78: no second run of the plan.
    const finished = fakeGitHub([
      ...thread,
      {
        id: 300,
        body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-000000', actionsRunId: '77' })}`,
        login: BOT,
      },
    ]).github;
    expect(await runShardJob({ ...shard, github: finished, actionsRunId: '78', shard: 0 })).toEqual({
      status: 'refused',
      reason: 'comment 300 is not the progress comment of this run',
    });
    // A resume whose earlier artifacts are not here (expired) is refused: every shard would run again.
    const resumeGitHub = fakeGitHub([
      ...thread,
      {
        id: 300,
        body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-000000', actionsRunId: '77' })}`,
        login: BOT,
      },
    ]);
    expect(
      await startShards({
        ...o,
        github: resumeGitHub.github,
        repoDir: checkout,
        runsDir: tempDir(),
        resumeActionsRunId: '77',
      }),
    ).toEqual({
      status: 'refused',
      reason:
        "no shard's run directory of Actions run 77 is here; the workflow downloads them from its artifacts, which may have expired",
    });
    // On a resume, a shard whose newest run completed runs nothing again.
    const done = join(shard.runsDir, '20261126-080000-000000');
    mkdirSync(done);
    writeFileSync(
      join(done, 'result.json'),
      JSON.stringify({ status: 'completed', shard: { index: 1, count: 3 } }),
    );
    const resumeThread = [
      ...thread,
      {
        id: 300,
        body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-000000', actionsRunId: '77' })}`,
        login: BOT,
      },
      { id: 301, body: `Running\n\n${runMarker('plan-1')}`, login: BOT },
    ];
    const resumed = {
      ...shard,
      github: fakeGitHub(resumeThread).github,
      progressCommentId: 301,
      resume: true,
      resumeActionsRunId: '77',
    };
    expect(await runShardJob({ ...resumed, shard: 1 })).toEqual({
      status: 'done before',
      runId: '20261126-080000-000000',
    });
    // The merge job of a plan with another script than the one dispatched: refused, nothing merged or pushed.
    let pushed = 0;
    expect(
      await mergeShardsJob({
        ...shard,
        scriptSha256: 'f'.repeat(64),
        push: async () => {
          pushed++;
        },
      }),
    ).toMatchObject({
      status: 'refused',
      reason: `the approved sha256 ${'f'.repeat(64)} is not the sha256 of plan \`plan-1\``,
    });
    expect(pushed).toBe(0);
  }, 60_000);

  test("each shard's budget is its equal share of the run's", () => {
    expect(budgetEach({ tokens: 1_000_000, usd: 3 }, 3)).toEqual({ tokens: 333_333, usd: 1 });
    // Dollars rounded down to the cent, as the plan comment states them.
    expect(budgetEach({ tokens: null, usd: 10 }, 3)).toEqual({ tokens: null, usd: 3.33 });
    expect(budgetEach({ tokens: null, usd: null }, 4)).toEqual({ tokens: null, usd: null });
  });
});
