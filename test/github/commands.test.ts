import { describe, expect, test } from 'vitest';
import { parseCommand } from '../../src/github/commands.js';
import { parseConfig } from '../../src/github/config.js';
import { scriptOf, sha256 } from '../../src/github/plan-comment.js';
import { fenceFor } from '../../src/report/format.js';

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
