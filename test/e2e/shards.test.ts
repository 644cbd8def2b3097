import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { approvalMarker, renderPlanComment } from '../../src/github/plan-comment.js';
import { createPlan } from '../../src/plan/plan.js';
import { messageReply, serve } from '../action/stand-ins.js';
import { git } from '../helpers.js';

/**
 * Issue 15's acceptance: a sharded audit (3 shards) of a repository made in a temp dir, each job of
 * the workflow's sharded path run as its own process of the real action bundle, with its own
 * checkout and artifact folder, against local stand-ins for the GitHub API and the model API.
 */

const root = join(import.meta.dirname, '..', '..');
const scratch: string[] = [];
let bundle: string;

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

beforeAll(() => {
  // The bundle of the sources as they are, built where the test can throw it away (action/dist is the lead's).
  const out = temp('dwf-shards-bundle-');
  execFileSync(process.execPath, [join(root, 'scripts', 'build-action.mjs'), out]);
  bundle = join(out, 'index.mjs');
});
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const FILES = ['src/f0.js', 'src/f1.js', 'src/f2.js', 'src/f3.js', 'src/f4.js', 'src/f5.js'];
const BROKEN = 'export const value = () => 0;\n';
const FIXED = 'export const value = () => 1;\n';

/** The repository: six modules that each return 0 where their test wants 1, pushed to a bare remote. */
function repository(): { remote: string } {
  const remote = temp('dwf-shards-remote-');
  git(remote, 'init', '-q', '--bare', '--initial-branch=main');
  const seed = temp('dwf-shards-seed-');
  git(seed, 'init', '-q', '--initial-branch=main');
  mkdirSync(join(seed, 'src'));
  mkdirSync(join(seed, 'test'));
  writeFileSync(
    join(seed, 'package.json'),
    JSON.stringify({ name: 'shop', private: true, type: 'module', scripts: { test: 'node --test' } }),
  );
  for (const [i, file] of FILES.entries()) {
    writeFileSync(join(seed, file), BROKEN);
    writeFileSync(
      join(seed, 'test', `f${i}.test.js`),
      `import { test } from 'node:test';\nimport assert from 'node:assert';\nimport { value } from '../${file}';\n` +
        `test('f${i} gives 1', () => assert.strictEqual(value(), 1));\n`,
    );
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'shop');
  git(seed, 'remote', 'add', 'origin', remote);
  git(seed, 'push', '-q', 'origin', 'main');
  return { remote };
}

/** A job's checkout, as actions/checkout leaves it. */
function checkout(remote: string): string {
  const dir = temp('dwf-shards-checkout-');
  git(dir, 'clone', '-q', remote, '.');
  return dir;
}

interface Served {
  shard: number;
  kind: string;
  file: string;
}

/**
 * The model stand-in: a finder finds one bug in its file, the verifier confirms it, the fixer
 * writes the fix (a write_file call, then its answer), the re-checker says fixed. Every answer
 * bills 1000 input and 20 output tokens. A request `hold` says yes to is never answered.
 */
async function modelStandIn(slices: string[][], latencyMs = 0) {
  const served: Served[] = [];
  const held: ServerResponse[] = [];
  const state = { hold: (_: Served) => false };
  const shardOf = (text: string) => slices.findIndex((slice) => slice.some((f) => text.includes(f)));
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', async () => {
      const body = JSON.parse(raw) as { model: string; messages: Array<{ role: string; content: unknown }> };
      const first = JSON.stringify(body.messages[0]?.content);
      const file = /<file-name>\\n([^\\]+)\\n<\/file-name>/.exec(first)?.[1] ?? '';
      const kind = first.includes('Audit the file')
        ? 'find'
        : first.includes('adversarial reviewer')
          ? 'verify'
          : first.includes('Fix the confirmed problem')
            ? 'fix'
            : first.includes('Check, reading the code')
              ? 'recheck'
              : 'summary';
      const seen = { shard: shardOf(first), kind, file };
      if (state.hold(seen)) {
        held.push(res);
        return;
      }
      if (latencyMs > 0) await new Promise((done) => setTimeout(done, latencyMs));
      served.push(seen);
      const answered = JSON.stringify(body.messages.at(-1)?.content).includes('tool_result');
      const json = (value: unknown) => [{ type: 'text', text: JSON.stringify(value) }];
      const content =
        kind === 'find'
          ? json({
              findings: [{ title: `value() returns 0`, line: 1, severity: 'high', description: 'must be 1' }],
            })
          : kind === 'verify'
            ? json({ confirmed: true, evidence: 'line 1 returns 0' })
            : kind === 'fix' && !answered
              ? [
                  {
                    type: 'tool_use',
                    id: `toolu_${served.length}`,
                    name: 'write_file',
                    input: { path: file, content: FIXED },
                  },
                ]
              : kind === 'fix'
                ? json({ changed: true, summary: 'returns 1' })
                : kind === 'recheck'
                  ? json({ fixed: true, evidence: 'returns 1 now' })
                  : [{ type: 'text', text: 'Every module returned 0; each is fixed.' }];
      const reply = messageReply(`msg_${served.length}`, body.model, content, kind === 'fix' && !answered);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    state,
    close: () => {
      for (const res of held.splice(0)) res.destroy();
      server.close();
    },
  };
}

const at = '2026-11-26T10:00:00Z';
const bot = 'github-actions[bot]';

/** The GitHub stand-in: one issue thread that keeps what the jobs post and edit, and the pull requests they open. */
async function gitHubStandIn(
  thread: Array<{ id: number; body: string; user: { login: string; type: string } }>,
) {
  let next = 300;
  const pulls: Array<{ title: string; body: string; head: string }> = [];
  const api = await serve(({ method, url, body }) => {
    if (method === 'GET' && url.startsWith('/repos/octo/shop/issues/1/comments'))
      return [200, thread.map((c) => ({ ...c, created_at: at, updated_at: at }))];
    if (method === 'GET' && url === '/repos/octo/shop/collaborators/octocat/permission')
      return [200, { permission: 'admin', role_name: 'admin' }];
    if (method === 'POST' && url === '/repos/octo/shop/issues/1/comments') {
      const id = next++;
      thread.push({ id, body: (body as { body: string }).body, user: { login: bot, type: 'Bot' } });
      return [201, { id }];
    }
    const edit = /^\/repos\/octo\/shop\/issues\/comments\/(\d+)$/.exec(url);
    if (method === 'GET' && edit) {
      const comment = thread.find((c) => c.id === Number(edit[1]));
      const issueUrl = 'https://api.github.com/repos/octo/shop/issues/1';
      return comment
        ? [200, { ...comment, created_at: at, updated_at: at, issue_url: issueUrl }]
        : [404, { message: 'no such comment' }];
    }
    if (method === 'PATCH' && edit) {
      const comment = thread.find((c) => c.id === Number(edit[1]));
      if (comment) comment.body = (body as { body: string }).body;
      return comment ? [200, { id: comment.id }] : [404, { message: 'no such comment' }];
    }
    const listed = (pull: (typeof pulls)[number], i: number) => ({
      ...pull,
      number: i + 1,
      state: 'open',
      html_url: `https://github.com/octo/shop/pull/${i + 1}`,
      head: { ref: pull.head },
      user: { login: bot, type: 'Bot' },
    });
    if (method === 'POST' && url === '/repos/octo/shop/pulls') {
      pulls.push(body as (typeof pulls)[number]);
      return [201, listed(pulls.at(-1)!, pulls.length - 1)];
    }
    if (method === 'GET' && url.startsWith('/repos/octo/shop/pulls?')) return [200, pulls.map(listed)];
    // Runs of the workflow that have not ended: none (run 77 ended before its resume).
    if (method === 'GET' && /^\/repos\/octo\/shop\/actions\/workflows\/[^/]+\/runs\?/.test(url))
      return [200, { total_count: 0, workflow_runs: [] }];
    const pull = /^\/repos\/octo\/shop\/pulls\/(\d+)$/.exec(url);
    if (method === 'PATCH' && pull && pulls[Number(pull[1]) - 1]) {
      const i = Number(pull[1]) - 1;
      Object.assign(pulls[i]!, body as { title: string; body: string });
      return [200, listed(pulls[i]!, i)];
    }
    return [404, { message: `not mocked: ${method} ${url}` }];
  });
  return { ...api, thread, pulls };
}

interface Job {
  mode: 'shards' | 'shard' | 'merge';
  checkout: string;
  /** RUNNER_TEMP: the artifact folder is its `dynamic-workflows-runs`. */
  runnerTemp: string;
  actionsRunId: string;
  shard?: number;
  progressCommentId?: number;
  resume?: string;
}

/** One job of the sharded path: the bundled action as its own process. */
function startJob(
  job: Job,
  o: { github: string; model: string; planCommentId: number; sha: string },
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; outputs: Record<string, string> }>;
} {
  const eventPath = join(job.runnerTemp, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({
      inputs: {
        mode: 'sharded',
        issue: '1',
        plan_comment_id: String(o.planCommentId),
        script_sha256: o.sha,
        resume_actions_run_id: job.resume ?? '',
      },
      repository: { default_branch: 'main' },
    }),
  );
  const output = join(job.runnerTemp, 'output');
  writeFileSync(output, '');
  const child = spawn(process.execPath, [bundle], {
    env: {
      PATH: process.env.PATH,
      GITHUB_REPOSITORY: 'octo/shop',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_WORKSPACE: job.checkout,
      GITHUB_API_URL: o.github,
      GITHUB_SERVER_URL: o.github,
      GITHUB_RUN_ID: job.actionsRunId,
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: job.runnerTemp,
      INPUT_MODE: job.mode,
      INPUT_GITHUB_TOKEN: 'ghs_runner_token_0123',
      // As the workflow file gives it: the merge job gets no model key (it asks no model).
      ...(job.mode === 'merge' ? {} : { INPUT_ANTHROPIC_API_KEY: 'sk-ant-runner-key-0123' }),
      INPUT_MODEL: 'anthropic:claude-sonnet-5-5?auth=x-api-key',
      ANTHROPIC_BASE_URL: o.model,
      ...(job.shard !== undefined ? { INPUT_SHARD: String(job.shard) } : {}),
      ...(job.progressCommentId !== undefined
        ? { INPUT_PROGRESS_COMMENT_ID: String(job.progressCommentId) }
        : {}),
    },
  });
  let stdout = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stdout += chunk;
  });
  const done = new Promise<{ code: number | null; stdout: string; outputs: Record<string, string> }>(
    (resolve) =>
      child.on('exit', (code) => {
        const outputs = Object.fromEntries(
          readFileSync(output, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        );
        resolve({ code, stdout, outputs });
      }),
  );
  return { child, done };
}

const runsOf = (runnerTemp: string) => join(runnerTemp, 'dynamic-workflows-runs');

/** A download of artifacts into a job's runs directory (`merge-multiple: true`: one folder). */
function download(from: string[], runnerTemp: string) {
  for (const dir of from)
    if (existsSync(runsOf(dir))) cpSync(runsOf(dir), runsOf(runnerTemp), { recursive: true });
}

/** Agents the model stand-in answered: a fixer asks twice (its write_file call, then its answer). */
const agentsIn = (served: Served[]) =>
  served.filter((s) => s.kind !== 'fix').length + served.filter((s) => s.kind === 'fix').length / 2;

/** The total row of the report's token accounting: agents, input, cache write, cache read, output. */
function accounted(body: string): number[] {
  const row = /^\| total \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|/m.exec(body);
  if (!row) throw new Error(`no token accounting in:\n${body}`);
  return row.slice(1, 6).map(Number);
}

describe('a sharded audit across three job processes', () => {
  test('merges every shard into one pull request with the spend summed exactly; a killed shard is resumed alone, re-spending nothing of the others', async () => {
    const { remote } = repository();
    const planning = checkout(remote);
    const plan = await createPlan({
      repoDir: planning,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      maxShards: 3,
      // Any estimate is over this target: as many shards as allowed.
      shardTargetMinutes: 0.001,
    });
    expect(plan.shards?.count).toBe(3);
    const slices = plan.shards!.slices;
    expect(slices.flat().sort()).toEqual(FILES);
    const sha = plan.scriptSha256!;
    const planBody = renderPlanComment(plan, {
      planId: 'plan-9',
      baseSha: git(planning, 'rev-parse', 'HEAD'),
      requester: 'octocat',
    });
    const github = await gitHubStandIn([
      { id: 100, body: planBody, user: { login: bot, type: 'Bot' } },
      { id: 40, body: '/approve', user: { login: 'octocat', type: 'User' } },
      {
        id: 101,
        body: `Approved\n\n${approvalMarker({ planId: 'plan-9', scriptSha256: sha, approver: 'octocat', commentId: 40 })}`,
        user: { login: bot, type: 'Bot' },
      },
    ]);
    const model = await modelStandIn(slices);
    const place = { github: github.url, model: model.url, planCommentId: 100, sha };
    try {
      // 1. The shards job: the approval re-checked, the matrix, the progress comment.
      const shardsTemp = temp('dwf-shards-job-');
      const started = await startJob(
        { mode: 'shards', checkout: checkout(remote), runnerTemp: shardsTemp, actionsRunId: '77' },
        place,
      ).done;
      expect(started.stdout).not.toContain('::error::');
      expect(started.outputs).toEqual({
        matrix: '[0,1,2]',
        count: '3',
        progress_comment_id: '300',
        base_sha: git(planning, 'rev-parse', 'HEAD'),
      });

      // 2. The matrix: three processes, each with its own checkout and artifact folder. Shard 2 is
      // killed once its finders, verifiers and fixers were answered (and journaled): its fixes are in
      // its working copy, not yet committed; its re-checkers are never answered.
      model.state.hold = (seen) => seen.shard === 2 && (seen.kind === 'recheck' || seen.kind === 'summary');
      const shardTemps = [0, 1, 2].map(() => temp('dwf-shards-runner-'));
      const shardCheckouts = [0, 1, 2].map(() => checkout(remote));
      const jobs = [0, 1, 2].map((shard) =>
        startJob(
          {
            mode: 'shard',
            checkout: shardCheckouts[shard]!,
            runnerTemp: shardTemps[shard]!,
            actionsRunId: '77',
            shard,
            progressCommentId: 300,
          },
          place,
        ),
      );
      const journalLines = () => {
        const runs = runsOf(shardTemps[2]!);
        if (!existsSync(runs)) return 0;
        const dirs = execFileSync('ls', [runs], { encoding: 'utf8' }).split('\n').filter(Boolean);
        const journal = dirs[0] ? join(runs, dirs[0], 'journal.jsonl') : '';
        return journal && existsSync(journal)
          ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length
          : 0;
      };
      while (journalLines() < 6) {
        // A shard that ended before it could be killed is a failure of its own: say what it printed.
        if (jobs[2]!.child.exitCode !== null)
          throw new Error(`shard 2 ended early:\n${(await jobs[2]!.done).stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      jobs[2]!.child.kill('SIGKILL');
      const ended = await Promise.all(jobs.map((j) => j.done));
      expect(ended.map((e) => e.code)).toEqual([0, 0, null]);
      // The one progress comment, updated by every shard: the two that ended, and the killed one as it
      // last wrote (or waiting, when a write of another shard that read before its own came after it).
      const during = github.thread.find((c) => c.id === 300)!.body;
      expect(during).toMatch(
        /^\*\*Running plan `plan-9` in 3 shards\*\* \(\[job\]\([^)]+\)\): 2 of 3 ended\./,
      );
      expect(during).toMatch(/\n\| 0 \| completed \| Report \| 0 · 9 · 0 \| 11\.2k \| \$0\.0242 \|/);
      expect(during).toMatch(/\n\| 1 \| completed \| Report \| 0 · 9 · 0 \| 11\.2k \| \$0\.0242 \|/);
      expect(during).toMatch(/\n\| 2 \| (running|waiting) \|/);
      const firstAttempt = [...model.served];
      expect(firstAttempt.filter((s) => s.shard === 2).map((s) => s.kind)).toEqual([
        'find',
        'find',
        'verify',
        'verify',
        'fix',
        'fix',
        'fix',
        'fix',
      ]);
      // Its runner is gone: the journal and the working copy live on in its artifact only.
      rmSync(shardCheckouts[2]!, { recursive: true, force: true });

      // 3. The merge job: every artifact downloaded into one folder; one pull request, shard 2 missing.
      const mergeTemp = temp('dwf-shards-merge-');
      download(shardTemps, mergeTemp);
      const merged = await startJob(
        {
          mode: 'merge',
          checkout: checkout(remote),
          runnerTemp: mergeTemp,
          actionsRunId: '77',
          progressCommentId: 300,
        },
        place,
      ).done;
      expect(merged.stdout).not.toContain('::error::');
      expect(github.pulls).toHaveLength(1);
      const partial = github.pulls[0]!;
      expect(partial.body).toContain('> **1 shard not in this branch**: shard 2 (its newest run');
      expect(partial.body).toContain('Reply `/workflow resume`');
      expect(partial.body).not.toContain('Trace: the artifact');
      // The merge job ran the repository's tests once on the merged branch: shard 2's two still fail.
      expect(partial.body).toMatch(
        /- tests on the merged branch \(`npm test`\): failing \(4 passed, 2 failed\)/,
      );
      expect(accounted(partial.body)).toEqual([
        agentsIn(firstAttempt),
        1000 * firstAttempt.length,
        0,
        0,
        20 * firstAttempt.length,
      ]);
      const progress = github.thread.find((c) => c.id === 300)!.body;
      expect(progress).toMatch(
        /^2 of 3 shards completed; their changes are in https:\/\/github\.com\/octo\/shop\/pull\/1\. Missing: shard 2/,
      );
      expect(progress).toMatch(
        /<!-- dynamic-workflows:run \{"planId":"plan-9","runId":"[^"]+","actionsRunId":"77"\} -->$/,
      );

      // 4. /workflow resume: the shards job of Actions run 78 reads run 77's artifacts and runs only shard 2.
      model.state.hold = () => false;
      const resumeTemp = temp('dwf-shards-job-');
      download(shardTemps, resumeTemp);
      const resumed = await startJob(
        {
          mode: 'shards',
          checkout: checkout(remote),
          runnerTemp: resumeTemp,
          actionsRunId: '78',
          resume: '77',
        },
        place,
      ).done;
      expect(resumed.stdout).not.toContain('::error::');
      expect(resumed.outputs).toMatchObject({ matrix: '[2]', count: '3' });
      const progressId = Number(resumed.outputs.progress_comment_id);
      // The new progress comment shows shards 0 and 1 done from the start, not waiting.
      const fresh = github.thread.find((c) => c.id === progressId)!.body;
      expect(fresh).toContain(
        '| 0 | completed | completed in an earlier run | 0 · 9 · 0 | 11.2k | $0.0242 |',
      );
      expect(fresh).toContain(
        '| 1 | completed | completed in an earlier run | 0 · 9 · 0 | 11.2k | $0.0242 |',
      );
      expect(fresh).toContain('| 2 | waiting |');
      // Shard 2 on a new runner: a new checkout, its artifact of run 77 downloaded.
      const shard2Temp = temp('dwf-shards-runner-');
      download([shardTemps[2]!], shard2Temp);
      const shard2 = await startJob(
        {
          mode: 'shard',
          checkout: checkout(remote),
          runnerTemp: shard2Temp,
          actionsRunId: '78',
          shard: 2,
          progressCommentId: progressId,
          resume: '77',
        },
        place,
      ).done;
      expect(shard2.stdout).not.toContain('::error::');
      expect(shard2.code).toBe(0);
      const secondAttempt = model.served.slice(firstAttempt.length);
      // Only shard 2 asked the model again, and not for the two answers its journal held.
      expect(secondAttempt.every((s) => s.shard === 2)).toBe(true);
      expect(secondAttempt.map((s) => s.kind).sort()).toEqual(['recheck', 'recheck', 'summary']);

      // 5. The merge of run 78: run 77's artifacts and run 78's; one pull request with every shard.
      const merge2Temp = temp('dwf-shards-merge-');
      download([...shardTemps, shard2Temp], merge2Temp);
      const final = await startJob(
        {
          mode: 'merge',
          checkout: checkout(remote),
          runnerTemp: merge2Temp,
          actionsRunId: '78',
          progressCommentId: progressId,
          resume: '77',
        },
        place,
      ).done;
      expect(final.stdout).not.toContain('::error::');
      expect(final.code).toBe(0);
      // One pull request: the resume pushed onto the first merge's branch and rewrote its body.
      expect(github.pulls).toHaveLength(1);
      const whole = github.pulls[0]!;
      expect(whole.body).not.toContain('not in this branch');
      // Shard 2: two attempts, its six journaled answers replayed, every answer counted once.
      expect(whole.body).toMatch(
        /\n\| 2 \| completed \| `[^`]+` \| 2 \| 9 \(6 of them replayed\) \| 11220 \| \$0\.0242 \| merged \(2 files\) \|/,
      );
      expect(whole.body).toMatch(
        /- tests on the merged branch \(`npm test`\): passing \(6 passed, 0 failed\)/,
      );
      // Every answer the model stand-in gave, over both attempts, counted once.
      const all = model.served.length;
      expect(accounted(whole.body)).toEqual([agentsIn(model.served), 1000 * all, 0, 0, 20 * all]);
      // The branch holds every shard's fixes and passes the repository's tests.
      const verify = checkout(remote);
      git(verify, 'fetch', '-q', 'origin', whole.head);
      git(verify, 'checkout', '-q', 'FETCH_HEAD');
      for (const file of FILES) expect(readFileSync(join(verify, file), 'utf8')).toBe(FIXED);
      expect(() => execFileSync('npm', ['test'], { cwd: verify, stdio: 'pipe' })).not.toThrow();
      expect(github.thread.find((c) => c.id === progressId)!.body).toMatch(
        /^The sharded run completed: all 3 shards are in https:\/\/github\.com\/octo\/shop\/pull\/1\./,
      );
      expect(JSON.stringify(github.thread) + JSON.stringify(github.pulls)).not.toContain(
        'ghs_runner_token_0123',
      );
    } finally {
      github.server.close();
      model.close();
    }
  }, 300_000);
});
