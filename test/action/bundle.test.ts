import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { approvalMarker, renderPlanComment } from '../../src/github/plan-comment.js';
import { createPlan } from '../../src/plan/plan.js';
import { tempDir } from '../helpers.js';
import { exampleCheckout, git } from './checkout.js';
import { messageReply, quiet, type Schema, serve } from './stand-ins.js';

const root = join(import.meta.dirname, '..', '..');
const bundle = join(root, 'action', 'dist', 'index.mjs');
const run = promisify(execFile);

describe('the bundled action', () => {
  test('is current: bundling the sources again gives the committed file', async () => {
    const out = tempDir('dwf-bundle-');
    await run(process.execPath, [join(root, 'scripts', 'build-action.mjs'), out]);
    expect(readFileSync(join(out, 'index.mjs'), 'utf8') === readFileSync(bundle, 'utf8')).toBe(true);
  }, 60_000);

  test('runs an approved plan against local stand-ins for the GitHub API and an Anthropic-compatible endpoint', async () => {
    const { checkout } = exampleCheckout('master', { pushed: false });
    const plan = await createPlan({ repoDir: checkout, request: 'audit', model: 'claude-sonnet-5-5' });
    const planBody = renderPlanComment(plan, {
      planId: 'plan-9',
      baseSha: git(checkout, 'rev-parse', 'HEAD'),
      requester: 'octocat',
    });
    const approval = approvalMarker({
      planId: 'plan-9',
      scriptSha256: plan.scriptSha256!,
      approver: 'octocat',
      commentId: 40,
    });
    const at = '2026-11-25T10:00:00Z';
    const bot = (id: number, login: string, body: string) => ({
      id,
      body,
      user: { login, type: 'Bot' },
      created_at: at,
      updated_at: at,
    });

    const github = await serve(({ method, url }) => {
      if (method === 'GET' && url.startsWith('/repos/octo/api/issues/1/comments')) {
        return [
          200,
          [
            bot(100, 'github-actions[bot]', planBody),
            {
              id: 40,
              body: '/approve',
              user: { login: 'octocat', type: 'User' },
              created_at: at,
              updated_at: at,
            },
            bot(101, 'github-actions[bot]', `Approved\n\n${approval}`),
          ],
        ];
      }
      if (method === 'GET' && url === '/repos/octo/api/collaborators/octocat/permission')
        return [200, { permission: 'admin', role_name: 'admin' }];
      if (method === 'POST' && url === '/repos/octo/api/issues/1/comments') return [201, { id: 300 }];
      if (method === 'PATCH' && url === '/repos/octo/api/issues/comments/300') return [200, { id: 300 }];
      return [404, { message: `not mocked: ${method} ${url}` }];
    });
    const anthropic = await serve(({ body }) => {
      const request = body as { model: string; output_config?: { format?: { schema: Schema } } };
      const schema = request.output_config?.format?.schema;
      const text = schema ? JSON.stringify(quiet(schema)) : 'Nothing to report: no finding held up.';
      return [200, messageReply('msg_1', request.model, [{ type: 'text', text }])];
    });

    const temp = tempDir('dwf-runner-');
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
    try {
      const { stdout } = await run(process.execPath, [bundle], {
        env: {
          PATH: process.env.PATH,
          GITHUB_REPOSITORY: 'octo/api',
          GITHUB_EVENT_NAME: 'workflow_dispatch',
          GITHUB_EVENT_PATH: eventPath,
          GITHUB_WORKSPACE: checkout,
          GITHUB_API_URL: github.url,
          GITHUB_SERVER_URL: github.url,
          GITHUB_RUN_ID: '77',
          GITHUB_STEP_SUMMARY: summaryFile,
          RUNNER_TEMP: temp,
          INPUT_GITHUB_TOKEN: 'ghs_runner_token_0123',
          INPUT_ANTHROPIC_API_KEY: 'sk-ant-runner-key-0123',
          INPUT_MODEL: 'anthropic:claude-sonnet-5-5?auth=x-api-key',
          ANTHROPIC_BASE_URL: anthropic.url,
        },
      });
      expect(stdout).not.toContain('::error::');
    } finally {
      github.server.close();
      anthropic.server.close();
    }
    // Five finders and a synthesizer asked the model; the key went as x-api-key and nowhere else.
    expect(anthropic.seen).toHaveLength(6);
    for (const request of anthropic.seen) {
      expect(request.url).toBe('/v1/messages');
      expect(request.headers['x-api-key']).toBe('sk-ant-runner-key-0123');
      expect(JSON.stringify(request.body)).not.toContain('ghs_runner_token_0123');
    }
    const edits = github.seen
      .filter((r) => r.method === 'PATCH')
      .map((r) => (r.body as { body: string }).body);
    expect(edits.at(-1)).toMatch(
      /^The run completed with no changes and no findings: nothing to review\.\n\nTrace: the artifact \[`dynamic-workflows-77`\]\(http:\/\/127\.0\.0\.1:\d+\/octo\/api\/actions\/runs\/77#artifacts\) holds the run directory; open `[^`]+\/trace\.html` .*\n\n<!-- dynamic-workflows:run \{"planId":"plan-9","runId":"[^"]+","actionsRunId":"77"\} -->$/,
    );
    expect(github.seen.every((r) => r.headers.authorization === 'token ghs_runner_token_0123')).toBe(true);
    const summary = readFileSync(summaryFile, 'utf8');
    expect(summary).toContain('# audit: completed');
    expect(summary).toContain('- before: failing (exit 1; 3 passed, 4 failed)');
    expect(summary).not.toContain('sk-ant-runner-key-0123');
  }, 90_000);
});
