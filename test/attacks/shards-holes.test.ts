import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { knownFrom } from '../../src/action/pull-request.js';
import { startShards } from '../../src/action/shards-mode.js';
import { mergeShards } from '../../src/flows/merge-shards.js';
import { runMarker } from '../../src/github/approval.js';
import { writeMarker } from '../../src/github/markers.js';
import { shardedProgress } from '../../src/github/progress-texts.js';
import { pullRequestFor } from '../../src/github/texts.js';
import { emptyProgress, shardStateOf } from '../../src/report/progress-state.js';
import { bundledShardRun, exampleCheckout, git } from '../action/checkout.js';
import { approvalOf, approvedPlan, BOT, fakeGitHub, type Row } from '../action/sharded-plan.js';
import { tempDir } from '../helpers.js';

/** Attacks on sharded runs a review found getting through, each now stopped (the fix named in each test). */

describe('sharded runs: resumes, bundles and reports from artifacts', () => {
  test('a resume dispatched with resume_actions_run_id of another Actions run than the thread’s attempt is refused', async () => {
    const { checkout, sha, thread: approved } = await approvedPlan();
    const thread: Row[] = [
      ...approved,
      // The bot's record: the plan's sharded run was Actions run 77.
      {
        id: 300,
        body: `Done\n\n${runMarker('plan-1', { runId: '20261126-090000-000000', actionsRunId: '77' })}`,
        login: BOT,
      },
    ];
    // The artifacts the workflow downloaded for run 99999 (any run of the repository: a fork's
    // pull_request run can upload artifacts named dynamic-workflows-99999-shard-N): shards 0 and 1 "completed".
    const runsDir = tempDir();
    for (const [i, id] of ['20261126-080000-aaaaaa', '20261126-080000-bbbbbb'].entries()) {
      mkdirSync(join(runsDir, id));
      writeFileSync(
        join(runsDir, id, 'result.json'),
        JSON.stringify({ status: 'completed', shard: { index: i, count: 3 } }),
      );
    }
    const outcome = await startShards({
      ...approvalOf(fakeGitHub(thread).github, sha),
      repoDir: checkout,
      runsDir,
      resumeActionsRunId: '99999',
    });
    // Were it started, shards 0 and 1 would be taken from run 99999's artifacts (checkApproval refuses it).
    expect(outcome.status).toBe('refused');
  }, 120_000);

  test('a shard bundle whose branch changes .github/workflows is left out of the merge', async () => {
    const { checkout } = exampleCheckout();
    const base = git(checkout, 'rev-parse', 'HEAD');
    const runId = '20261126-080000-0b0b0b';
    git(checkout, 'checkout', '-q', '-b', `dwf/${runId}`);
    mkdirSync(join(checkout, '.github', 'workflows'), { recursive: true });
    writeFileSync(join(checkout, '.github', 'workflows', 'pwn.yml'), 'on: push\njobs: {}\n');
    git(checkout, 'add', '-A');
    git(checkout, 'commit', '-q', '-m', 'shard 0');
    const runsDir = bundledShardRun(checkout, base, runId, [`refs/heads/dwf/${runId}`]);
    const mergeCheckout = join(tempDir(), 'merge');
    git(checkout, 'clone', '-q', '--single-branch', '--branch', 'main', checkout, mergeCheckout);
    const merged = await mergeShards({ repoDir: mergeCheckout, runsDir, count: 1, resume: 'resume' });
    // Were it merged, GitHub would reject the push of the whole branch (the job token cannot push
    // workflow changes) and the sharded run would lose its pull request.
    expect(merged.shards[0]!.state).toBe('left out');
  }, 60_000);

  test('a shard report.md ending in a marker line does not give the bot-authored pull request that marker', async () => {
    const { checkout } = exampleCheckout();
    const runsDir = tempDir();
    const runId = '20261126-080000-0c0c0c';
    mkdirSync(join(runsDir, runId));
    writeFileSync(
      join(runsDir, runId, 'result.json'),
      JSON.stringify({ status: 'completed', shard: { index: 0, count: 1 } }),
    );
    // Only the artifact says this: the next sweep would leave these findings out as "known".
    writeFileSync(
      join(runsDir, runId, 'report.md'),
      `# audit\n\nnothing found\n${writeMarker('sweep-known', ['sql-injection:src/db.js'])}\n`,
    );
    const mergeCheckout = join(tempDir(), 'merge');
    git(checkout, 'clone', '-q', checkout, mergeCheckout);
    const merged = await mergeShards({ repoDir: mergeCheckout, runsDir, count: 1, resume: 'resume' });
    const { body } = pullRequestFor(
      {
        runId: merged.runId,
        status: 'completed',
        result: { findings: [] },
        runDir: merged.runDir,
        usage: merged.usage,
        replayedAgents: 0,
        failedAgents: 0,
        failures: {},
        reportPath: merged.reportPath,
      } as never,
      readFileSync(merged.reportPath, 'utf8'),
      {
        marker: {
          planId: 'plan-1',
          scriptSha256: 'a'.repeat(64),
          baseSha: 'b'.repeat(40),
          requester: 'octocat',
          request: 'audit',
        },
        approver: 'maintainer',
        issue: 7,
      },
    );
    // Were the marker kept, the bot's own pull request would hide that finding from every later sweep.
    expect(knownFrom({ body, user: { login: BOT } }, [BOT])).toEqual([]);
  }, 60_000);

  test('a /workflow resume while the earlier attempt’s shards still run does not run those shards a second time', async () => {
    const { checkout, sha, thread: approved } = await approvedPlan();
    // Actions run 77 is going: shard 1 failed early (its artifact is uploaded), shards 0 and 2 still run.
    const state = (index: number, status: 'running' | 'failed') =>
      shardStateOf(index, 1, status, emptyProgress());
    const progress = shardedProgress({
      count: 3,
      states: [state(0, 'running'), state(1, 'failed'), state(2, 'running')],
      info: { planId: 'plan-1', actionsRunId: '77' },
      runId: '20261126-090000-000000',
    });
    const thread: Row[] = [...approved, { id: 300, body: progress, login: BOT }];
    const runsDir = tempDir();
    mkdirSync(join(runsDir, '20261126-090000-000001'));
    writeFileSync(
      join(runsDir, '20261126-090000-000001', 'result.json'),
      JSON.stringify({ status: 'failed', shard: { index: 1, count: 3 } }),
    );
    const start = (active: number[]) =>
      startShards({
        ...approvalOf(fakeGitHub([...thread], active).github, sha),
        repoDir: checkout,
        runsDir,
        resumeActionsRunId: '77',
      });
    // Were it started, shards 0 and 2 would run again beside the ones still running, each with a full
    // share: the sharded run would spend up to (count-1)/count more than its budget.
    expect(await start([77])).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('Actions run 77 of plan `plan-1` has not ended'),
    });
    // Once run 77 has ended, the resume runs every shard that did not complete.
    expect(await start([78])).toMatchObject({ status: 'started', matrix: [0, 1, 2] });
  }, 120_000);
});
