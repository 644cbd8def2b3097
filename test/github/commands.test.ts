import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { approvable } from '../../src/github/approval.js';
import { parseCommand } from '../../src/github/commands.js';
import { parseConfig } from '../../src/github/config.js';
import { readMarker } from '../../src/github/markers.js';
import { renderPlanComment, scriptOf, sha256 } from '../../src/github/plan-comment.js';
import { createPlan } from '../../src/plan/plan.js';
import { fenceFor } from '../../src/report/format.js';
import { tempDir } from '../helpers.js';
import { gitInit } from '../plan/repos.js';

describe('parseCommand', () => {
  test.each([
    ['/workflow audit', { command: { type: 'plan', request: 'audit' } }],
    [
      'please\n  /workflow   migrate CommonJS to ESM  \nthanks',
      { command: { type: 'plan', request: 'migrate CommonJS to ESM' } },
    ],
    [
      '/workflow find every SQL query built by hand',
      { command: { type: 'plan', request: 'find every SQL query built by hand' } },
    ],
    ['/approve', { command: { type: 'approve' } }],
    ['/workflow approve', { command: { type: 'approve' } }],
    [
      '/workflow revise skip the tests folder',
      { command: { type: 'revise', feedback: 'skip the tests folder' } },
    ],
    ['/workflow cancel', { command: { type: 'cancel' } }],
    ['/Workflow STATUS', { command: { type: 'status' } }],
    ['/workflow resume', { command: { type: 'resume' } }],
    ['/workflow help', { command: { type: 'help' } }],
    ['/workflow', { error: '`/workflow` needs a kind or a request, e.g. `/workflow audit`' }],
    [
      '/workflow revise',
      { error: '`/workflow revise` needs feedback, e.g. `/workflow revise only src/api`' },
    ],
    ['/workflow cancel now', { error: '`/workflow cancel` takes nothing after it' }],
    ['/approve this', { error: '`/approve` takes nothing after it' }],
    ['/workflow research', { error: '`/workflow research` needs a question' }],
    ['I will /workflow audit later', { none: true }],
    ['/workflows audit', { none: true }],
    // Examples, quotes and hidden text are not commands; prose after a closed fence is.
    ['```\n/approve\n```', { none: true }],
    ['``` \n/approve\n```', { none: true }],
    ['~~~~\n/approve\n~~~\n/approve\n~~~~', { none: true }],
    ['````md\n```\n/approve\n```\n````', { none: true }],
    ['  ```\n  /approve\n  ```', { none: true }],
    ['```\n/approve', { none: true }],
    ['> /approve', { none: true }],
    ['>/workflow audit', { none: true }],
    ['<!-- /approve -->', { none: true }],
    ['<!--\n/approve', { none: true }],
    ['an example:\n\n    /approve', { none: true }],
    ['\t/approve', { none: true }],
    ['<pre>\n/approve\n</pre>', { none: true }],
    ['<PRE class="x">/approve</PRE>', { none: true }],
    ['<code>\n/approve</code>', { none: true }],
    ['<pre>\n/approve', { none: true }],
    ['<pre>x</pre>\n   /approve', { command: { type: 'approve' } }],
    ['```\nexample\n```\n/workflow cancel', { command: { type: 'cancel' } }],
    ['> /approve\n\n/workflow status', { command: { type: 'status' } }],
    ['``inline`` is not a fence\n/approve', { command: { type: 'approve' } }],
    ['```js ` not a fence\n/approve', { command: { type: 'approve' } }],
  ])('%j', (body, expected) => {
    expect(parseCommand(body)).toEqual(expected);
  });
});

describe('configuration', () => {
  test('defaults: write permission, a five-million-token budget, 16 at once, 1000 agents', () => {
    const parsed = parseConfig(null);
    expect(parsed).toMatchObject({
      ok: true,
      config: {
        model: 'anthropic:claude-sonnet-5-5',
        budget: { tokens: 5_000_000 },
        concurrency: 16,
        maxAgents: 1000,
        approvers: { permission: 'write', users: [] },
        requireDistinctApprover: false,
        workflowFile: 'dynamic-workflows.yml',
        appLogin: 'dynamic-workflows[bot]',
      },
    });
  });

  test('every bad field is named', () => {
    expect(parseConfig({ maxAgents: 5000, budget: { usd: -1 }, approvers: { users: 'me' } })).toEqual({
      ok: false,
      problems: [
        '`budget.usd`: Too small: expected number to be >0',
        '`maxAgents`: Too big: expected number to be <=1000',
        '`approvers.users`: Invalid input: expected array, received string',
      ],
    });
  });
});

describe('plan comments', () => {
  test('the script comes back exactly as posted, even when it contains fences itself', () => {
    const script =
      "export const meta = { name: 'x', description: 'y' };\nlog('```js not a fence');\n```\nreturn 1;\n";
    const fence = fenceFor(script);
    const body = `text\n\n${fence}js\n${script.trimEnd()}\n${fence}\n\nReply /approve`;
    expect(fence).toBe('````');
    expect(scriptOf(body)).toBe(script);
    expect(sha256(scriptOf(body)!)).toBe(sha256(script));
  });
});

describe('a plan comment from a real plan', () => {
  test('is approvable as posted, and refused once its script is changed', async () => {
    const repo = tempDir();
    cpSync(join(import.meta.dirname, '..', '..', 'examples', 'api'), repo, { recursive: true });
    gitInit(repo);
    const plan = await createPlan({ repoDir: repo, request: 'audit', model: 'claude-sonnet-5-5' });
    const body = renderPlanComment(plan, {
      planId: 'plan-42',
      baseSha: 'b'.repeat(40),
      requester: 'octocat',
    });
    expect(
      readMarker('plan', { body, user: { login: 'github-actions[bot]' } }, ['github-actions[bot]']),
    ).toMatchObject({
      planId: 'plan-42',
      scriptSha256: plan.scriptSha256,
      request: 'audit',
      requester: 'octocat',
    });
    const posted = {
      id: 1,
      body,
      user: { login: 'github-actions[bot]', type: 'Bot' },
      created_at: 't',
      updated_at: 't',
    };
    expect(approvable(['github-actions[bot]'], [posted])).toMatchObject({
      comment: { id: 1 },
      marker: { planId: 'plan-42' },
    });
    const tampered = {
      ...posted,
      body: body.replace('const focus = args?.focus', "await agent('curl evil'); const focus = args?.focus"),
    };
    expect(approvable(['github-actions[bot]'], [tampered])).toEqual({
      refused: 'the script in plan `plan-42` does not match its recorded hash; ask for a new plan',
    });
  });
});
