import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { approvalMarker, renderPlanComment } from '../../src/github/plan-comment.js';
import { createPlan } from '../../src/plan/plan.js';
import { tempDir } from '../helpers.js';
import { exampleCheckout, git } from './checkout.js';
import { messageReply, quiet, type Schema, serve } from './stand-ins.js';

/**
 * Hole 1 of issue 9, through the real action bundle: a prompt-injected agent points the test
 * command at a script it wrote, which tries every way to the job's GitHub token and model key.
 * Nothing the model receives, nothing pushed, posted or left in the run directory holds them.
 */

const root = join(import.meta.dirname, '..', '..');
const bundle = join(root, 'action', 'dist', 'index.mjs');
const run = promisify(execFile);

const TOKEN = 'ghs_attackerWantsThisToken0123456789';
const KEY = 'sk-ant-attackerWantsThisKey0123456789';

/** The secrets as they could leak: plain, and base64 at every alignment (middle part, set by the secret alone). */
function leakForms(): Array<[string, string]> {
  const forms: Array<[string, string]> = [
    ['token', TOKEN],
    ['key', KEY],
  ];
  for (const [name, secret] of [
    ['token', TOKEN],
    ['key', KEY],
  ] as const) {
    for (const pad of [0, 1, 2]) {
      const encoded = Buffer.from(`${'\0'.repeat(pad)}${secret}`).toString('base64');
      forms.push([`${name} in base64 (offset ${pad})`, encoded.slice(4, -4)]);
      forms.push([
        `${name} in base64url (offset ${pad})`,
        encoded.slice(4, -4).replace(/\+/g, '-').replace(/\//g, '_'),
      ]);
    }
  }
  return forms;
}

function leaksIn(text: string): string[] {
  return leakForms()
    .filter(([, form]) => text.includes(form))
    .map(([name]) => name);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** What the injected agent's test script tries, one marker line per attempt. */
function attackScript(marks: string, runnerHome: string): string {
  return `#!/bin/sh
echo "== environ of every process"
for f in /proc/[0-9]*/environ; do tr '\\000' '\\n' < "$f"; echo; done
echo "== processes: $(ls /proc | grep -cE '^[0-9]+$')"
sudo -n true 2>/dev/null && echo SUDO-OK || echo SUDO-REFUSED
common=$(git rev-parse --git-common-dir)
for h in pre-push pre-commit post-checkout; do
  if printf '#!/bin/sh\\ntouch ${marks}/hook-%s-ran\\n' "$h" > "$common/hooks/$h" 2>/dev/null; then
    chmod +x "$common/hooks/$h"; echo "HOOK-$h-WRITTEN"
  else
    echo "HOOK-$h-REFUSED"
  fi
done
git config core.hooksPath /tmp 2>/dev/null && echo CONFIG-WRITTEN || echo CONFIG-REFUSED
echo "== the runner's HOME"
cat ${runnerHome}/.git-credentials 2>&1
ls -la /root /home 2>&1
echo "== the checkout's git config"
cat "$common/config"
git config --list
echo "== env"
env
mkdir -p ${marks}/outside 2>/dev/null && echo planted > ${marks}/outside/planted && echo OUTSIDE-WRITTEN-IN-SANDBOX || echo OUTSIDE-REFUSED
echo "== end of attack"
`;
}

describe('a prompt-injected agent after the secrets, through the bundled action', () => {
  test('the token and the key reach nothing: not the model, the branch, the pull request, comments, artifacts or logs; no hook runs', async () => {
    const { remote, checkout } = exampleCheckout('master', { pushed: true });
    const marks = tempDir('dwf-attack-marks-');
    const runnerHome = tempDir('dwf-runner-home-');
    writeFileSync(join(runnerHome, '.git-credentials'), `https://x-access-token:${TOKEN}@github.com\n`);
    const plan = await createPlan({ repoDir: checkout, request: 'audit', model: 'claude-sonnet-5-5' });

    const github = await serve(({ method, url }) => {
      if (method === 'GET' && url.startsWith('/repos/octo/api/issues/1/comments')) return [200, thread];
      if (method === 'GET' && url === '/repos/octo/api/collaborators/octocat/permission')
        return [200, { permission: 'admin', role_name: 'admin' }];
      if (method === 'POST' && url === '/repos/octo/api/issues/1/comments') return [201, { id: 300 }];
      if (method === 'PATCH' && url === '/repos/octo/api/issues/comments/300') return [200, { id: 300 }];
      if (method === 'POST' && url === '/repos/octo/api/pulls')
        return [201, { number: 7, html_url: `${github.url}/octo/api/pull/7` }];
      return [404, { message: `not mocked: ${method} ${url}` }];
    });
    // actions/checkout leaves the job token in the checkout's configuration (persist-credentials).
    git(
      checkout,
      'config',
      `http.${github.url}/.extraheader`,
      `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
    );
    const planBody = renderPlanComment(plan, {
      planId: 'plan-9',
      baseSha: git(checkout, 'rev-parse', 'HEAD'),
      requester: 'octocat',
    });
    const approval = approvalMarker({
      planId: 'plan-9',
      scriptSha256: plan.scriptSha256!,
      approver: 'octocat',
      commentId: 102,
    });
    const at = '2026-11-25T10:00:00Z';
    const comment = (id: number, login: string, type: string, body: string) => ({
      id,
      body,
      user: { login, type },
      created_at: at,
      updated_at: at,
    });
    const thread = [
      comment(100, 'github-actions[bot]', 'Bot', planBody),
      comment(102, 'octocat', 'User', '/approve'),
      comment(103, 'github-actions[bot]', 'Bot', `Approved\n\n${approval}`),
    ];

    const steps = [
      { name: 'write_file', input: { path: 'attack.sh', content: attackScript(marks, runnerHome) } },
      {
        name: 'edit_file',
        input: {
          path: 'package.json',
          old_string: '"test": "node --test"',
          new_string: '"test": "sh attack.sh; node --test"',
        },
      },
      { name: 'run_tests', input: {} },
    ];
    const anthropic = await serve(({ body }) => {
      const request = body as {
        model: string;
        messages: Array<{ role: string; content: unknown }>;
        output_config?: { format?: { schema: Schema } };
      };
      const prompt = JSON.stringify(request.messages[0]);
      const turn = request.messages.filter((m) => m.role === 'assistant').length;
      const injected = prompt.includes('Audit the file named') && prompt.includes('src/auth.js');
      const step = injected ? steps[turn] : undefined;
      const schema = request.output_config?.format?.schema;
      const content = step
        ? [{ type: 'tool_use', id: `toolu_${turn}`, name: step.name, input: step.input }]
        : [{ type: 'text', text: schema ? JSON.stringify(quiet(schema)) : 'Nothing to report.' }];
      return [200, messageReply(`msg_${turn}`, request.model, content, step !== undefined)];
    });

    const temp = tempDir('dwf-attack-runner-');
    const eventPath = join(temp, 'event.json');
    writeFileSync(
      eventPath,
      JSON.stringify({
        inputs: { mode: 'run', issue: '1', plan_comment_id: '100', script_sha256: plan.scriptSha256 },
        repository: { default_branch: 'master' },
      }),
    );
    const summaryFile = join(temp, 'summary.md');
    writeFileSync(summaryFile, '');
    let output: { stdout: string; stderr: string };
    try {
      output = await run(process.execPath, [bundle], {
        env: {
          PATH: process.env.PATH,
          HOME: runnerHome,
          GITHUB_TOKEN: TOKEN,
          ANTHROPIC_API_KEY: KEY,
          GITHUB_REPOSITORY: 'octo/api',
          GITHUB_EVENT_NAME: 'workflow_dispatch',
          GITHUB_EVENT_PATH: eventPath,
          GITHUB_WORKSPACE: checkout,
          GITHUB_API_URL: github.url,
          GITHUB_SERVER_URL: github.url,
          GITHUB_RUN_ID: '78',
          GITHUB_STEP_SUMMARY: summaryFile,
          RUNNER_TEMP: temp,
          INPUT_GITHUB_TOKEN: TOKEN,
          INPUT_ANTHROPIC_API_KEY: KEY,
          INPUT_MODEL: 'anthropic:claude-sonnet-5-5?auth=x-api-key',
          ANTHROPIC_BASE_URL: anthropic.url,
        },
      });
    } finally {
      github.server.close();
      anthropic.server.close();
    }

    // The attack ran: the injected agent's test script printed each attempt's outcome to the model.
    const received = anthropic.seen.map((r) => JSON.stringify(r.body)).join('\n');
    const toolResults = anthropic.seen
      .flatMap((r) => (r.body as { messages: Array<{ content: unknown }> }).messages)
      .flatMap((m) =>
        Array.isArray(m.content) ? (m.content as Array<{ type: string; content?: unknown }>) : [],
      )
      .filter((block) => block.type === 'tool_result')
      .map((block) => JSON.stringify(block.content));
    const testRun = toolResults.find((r) => r.includes('== end of attack'));
    expect(testRun).toBeDefined();
    for (const refused of [
      'SUDO-REFUSED',
      'HOOK-pre-push-REFUSED',
      'HOOK-pre-commit-REFUSED',
      'CONFIG-REFUSED',
    ])
      expect(testRun).toContain(refused);
    expect(testRun).not.toContain('SUDO-OK');
    expect(testRun).not.toMatch(/HOOK-[a-z-]+-WRITTEN/);
    // Only the sandbox's own few processes (npm, sh, the script), none of the runner's.
    expect(Number(/== processes: (\d+)/.exec(testRun!)?.[1])).toBeLessThan(20);

    // Nothing the model received holds a secret in any form.
    expect(leaksIn(received)).toEqual([]);
    for (const request of anthropic.seen) expect(request.headers['x-api-key']).toBe(KEY);

    // The pull request was opened with the changes pushed to the real remote; neither holds a secret.
    const pull = github.seen.find((r) => r.method === 'POST' && r.url === '/repos/octo/api/pulls');
    expect(pull).toBeDefined();
    const branch = (pull!.body as { head: string }).head;
    expect(git(remote, 'show', `${branch}:package.json`)).toContain('sh attack.sh; node --test');
    expect(leaksIn(git(remote, 'log', '--all', '-p', '--format=%H %s%n%b'))).toEqual([]);
    // Every body the bot sent GitHub (pull request, comments, progress) is clean.
    expect(leaksIn(github.seen.map((r) => JSON.stringify(r.body ?? '')).join('\n'))).toEqual([]);
    // The run directory (uploaded as the artifact), the summary and the job's output too.
    const runsDir = join(temp, 'dynamic-workflows-runs');
    const artifacts = filesUnder(runsDir).filter((f) => statSync(f).size < 50 * 1024 * 1024);
    expect(artifacts.some((f) => f.endsWith('events.jsonl'))).toBe(true);
    const leakedFiles = artifacts.filter((f) => leaksIn(readFileSync(f, 'latin1')).length > 0);
    expect(leakedFiles).toEqual([]);
    expect(leaksIn(readFileSync(summaryFile, 'utf8'))).toEqual([]);
    expect(leaksIn(output.stdout + output.stderr)).toEqual([]);
    const events = filesUnder(runsDir).find((f) => f.endsWith('events.jsonl'))!;
    expect(readFileSync(events, 'utf8')).toContain('repository code runs isolated');

    // No hook ran (each would have left a marker), nothing was written outside the workspace,
    // and the checkout's hooks and configuration are as they were.
    expect(readdirSync(marks)).toEqual([]);
    for (const hook of ['pre-push', 'pre-commit', 'post-checkout'])
      expect(existsSync(join(checkout, '.git', 'hooks', hook))).toBe(false);
    expect(readFileSync(join(checkout, '.git', 'config'), 'utf8')).not.toContain('hooksPath');
  }, 120_000);
});
