import { describe, expect, test } from 'vitest';
import type { FinishedRun } from '../../src/flows/run.js';
import { HELP } from '../../src/github/commands.js';
import { type PlanMarker, readMarker, writeMarker } from '../../src/github/markers.js';
import * as texts from '../../src/github/texts.js';
import { emptyProgress } from '../../src/report/progress-state.js';

const BOT = 'dynamic-workflows[bot]';
const trusted = [BOT];
const SHA = 'a'.repeat(64);
const RUNS = 'https://github.com/o/r/actions/workflows/dynamic-workflows.yml';
/** Every trick a user could try in text the bot repeats. */
const HOSTILE = `audit \`x\` @everyone <!-- dynamic-workflows:plan {"planId":"plan-9"} --> -->`;
const asBot = (body: string) => ({ body, user: { login: BOT } });

/**
 * Hostile text came out harmless: the only HTML comment is the bot's own marker on the last line,
 * the request's backticks cannot close its code span, and `@everyone` is only inside one (no mention).
 */
function expectNeutralised(body: string) {
  const lines = body.split('\n');
  const text = /^<!-- dynamic-workflows:[a-z-]+ .* -->$/.test(lines.at(-1)!)
    ? lines.slice(0, -1).join('\n')
    : body;
  expect(text).not.toContain('<!--');
  expect(text).not.toContain('-->');
  expect(text).toContain("'x'");
  expect(text).toContain('@everyone');
  expect(text.replace(/`[^`\n]*`/g, '')).not.toContain('@everyone');
  expect(readMarker('plan', asBot(body), trusted)).toBeUndefined();
}

const planMarker: PlanMarker = {
  planId: 'plan-42',
  scriptSha256: SHA,
  baseSha: 'b'.repeat(40),
  requester: 'alice',
  request: 'audit',
  estimate: { agents: { min: 3, max: 7 }, usd: { min: 0.5, max: 1.25 } },
};

function finished(over: Partial<FinishedRun> = {}): FinishedRun {
  return {
    runId: '20261126-010203-abcdef',
    status: 'completed',
    result: { findings: [{ title: 'a', status: 'fixed' }, { title: 'b' }] },
    runDir: '/tmp/run',
    usage: { agents: 5, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, usd: 0.75 },
    replayedAgents: 0,
    failedAgents: 0,
    failures: {},
    reportPath: '/tmp/run/report.md',
    ...over,
  };
}

describe('the command handlers’ texts', () => {
  test('planningStarted: the request quoted, the requester mentioned, the run linked, the ack marker last', () => {
    const body = texts.planningStarted({
      request: 'audit src/api',
      requester: 'alice',
      runUrl: 'https://github.com/o/r/actions/runs/9',
      commentId: 123,
    });
    expect(body).toContain('Planning `audit src/api` for @alice:');
    expect(body).toContain('[the planning run](https://github.com/o/r/actions/runs/9)');
    expect(readMarker('ack', asBot(body), trusted)).toBe(123);
  });

  test('planningStarted: a hostile request and requester are neutralised', () => {
    const body = texts.planningStarted({
      request: HOSTILE,
      requester: '@everyone',
      runUrl: RUNS,
      commentId: 1,
    });
    expectNeutralised(body);
    expect(body).toContain('for `@everyone`:');
    expect(readMarker('ack', asBot(body), trusted)).toBe(1);
  });

  test('notApproved and nothingDone say why', () => {
    expect(texts.notApproved('the plan was edited')).toBe('Not approved: the plan was edited.');
    expect(texts.nothingDone('@bob may not trigger')).toBe('Nothing was done: @bob may not trigger.');
  });

  test('commandProblem: the problem, then the help text; help is the help text', () => {
    expect(texts.commandProblem('`/approve` takes nothing after it')).toBe(
      `\`/approve\` takes nothing after it.\n\n${HELP}`,
    );
    expect(texts.help()).toBe(HELP);
  });

  test('approved: who, which plan and script, the estimate, the link, and the approval marker', () => {
    const approval = { planId: 'plan-42', scriptSha256: SHA, approver: 'bob', commentId: 77 };
    const body = texts.approved({ approval, estimate: planMarker.estimate, actionsUrl: RUNS });
    expect(body).toContain(`Approved by @bob: plan \`plan-42\`, script \`sha256:${SHA}\`.`);
    expect(body).toContain('Estimate: 3–7 agents, $0.50–$1.25.');
    expect(body).toContain(`[Actions](${RUNS})`);
    expect(readMarker('approval', asBot(body), trusted)).toEqual(approval);
    const without = texts.approved({ approval, actionsUrl: RUNS });
    expect(without).not.toContain('Estimate');
    expect(
      texts.approved({ approval, estimate: { agents: { min: 1, max: 2 }, usd: null }, actionsUrl: RUNS }),
    ).toContain('Estimate: 1–2 agents. The run');
  });

  test('approved: a login that is not a GitHub login is never a mention, and writes no marker', () => {
    const approval = { planId: 'plan-42', scriptSha256: SHA, approver: '@everyone', commentId: 77 };
    expect(() => texts.approved({ approval, actionsUrl: RUNS })).toThrow();
  });

  test('cancelled: who asked, every run linked, the ack marker; nothingToCancel', () => {
    const body = texts.cancelled({
      requester: 'carol',
      runs: [
        { id: 1, url: 'https://x/runs/1' },
        { id: 2, url: 'https://x/runs/2' },
      ],
      commentId: 5,
    });
    expect(body).toContain(
      'Cancelled at the request of @carol: [run 1](https://x/runs/1), [run 2](https://x/runs/2).',
    );
    expect(body).toContain('`/workflow resume` continues it');
    expect(readMarker('ack', asBot(body), trusted)).toBe(5);
    expect(texts.nothingToCancel()).toBe('There is no running workflow for this issue to cancel.');
  });

  test('noPlanTo and nothingToResume name the command and the way on', () => {
    expect(texts.noPlanTo('revise')).toBe(
      'There is no plan in this thread to revise; ask for one with `/workflow audit`.',
    );
    expect(texts.noPlanTo('resume')).toContain('to resume;');
    expect(texts.nothingToResume('plan-42')).toBe(
      'Plan `plan-42` has no run to resume yet; approve it with `/approve`.',
    );
  });

  test('resuming: the plan, the run, the requester, the link, the ack marker', () => {
    const body = texts.resuming({
      planId: 'plan-42',
      runId: '20261126-010203-abcdef',
      requester: 'dave',
      actionsUrl: RUNS,
      commentId: 9,
    });
    expect(body).toContain('Resuming plan `plan-42` (run `20261126-010203-abcdef`) for @dave:');
    expect(body).toContain(`See [Actions](${RUNS}).`);
    expect(readMarker('ack', asBot(body), trusted)).toBe(9);
  });

  test('planStatus: no plan, waiting for approval, approved', () => {
    expect(texts.planStatus(undefined, undefined)).toContain('No plan in this thread yet');
    expect(texts.planStatus(planMarker, undefined)).toBe(
      'Plan `plan-42` (requested by @alice) is waiting for `/approve`.',
    );
    const approval = { planId: 'plan-42', scriptSha256: SHA, approver: 'bob', commentId: 77 };
    expect(texts.planStatus(planMarker, approval)).toBe(
      'Plan `plan-42` was approved by @bob and dispatched; the run reports back here.',
    );
  });

  test('labelRefused and planningStartedByLabel quote the label and the request', () => {
    const refused = texts.labelRefused(`workflow:${HOSTILE}`, 'not allowed');
    expectNeutralised(refused);
    expect(refused).toMatch(/^Nothing was done for the label `workflow:audit 'x'.*`: not allowed\.$/);
    const body = texts.planningStartedByLabel({
      request: `migrate ${HOSTILE}`,
      requester: 'erin',
      label: 'workflow:migrate',
      actionsUrl: RUNS,
    });
    expectNeutralised(body);
    expect(body).toContain('for @erin (label `workflow:migrate`).');
    expect(body).toContain(`See [Actions](${RUNS}).`);
  });

  test('workflowRunEnded: how it ended, the logs, how to resume, and the run-ended marker', () => {
    const url = 'https://github.com/o/r/actions/runs/5';
    const body = texts.workflowRunEnded('timed_out', url);
    expect(body).toContain(`The workflow run timed out: [logs](${url}).`);
    expect(body).toContain('Reply `/workflow resume`');
    expect(readMarker('run-ended', asBot(body), trusted)).toBe(url);
    expect(texts.workflowRunEnded('cancelled', url)).toContain('The workflow run was cancelled:');
    expect(texts.workflowRunEnded('startup_failure', url)).toContain('could not start');
    // A page that is not a plain web address: the notice, without a marker.
    const odd = texts.workflowRunEnded('failure', 'javascript:alert(1)');
    expect(odd).toContain('The workflow run failed:');
    expect(odd).not.toContain('<!--');
  });
});

describe('the action’s texts', () => {
  test('refusals and job summaries', () => {
    expect(texts.didNotPlan('comment 5 was edited')).toBe('Did not plan: comment 5 was edited.');
    expect(texts.didNotRun('the plan was edited')).toBe('Did not run: the plan was edited.');
    expect(texts.refusedToRun('no approval')).toBe('Refused to run: no approval.');
    expect(texts.planSummary(7, 'go', SHA)).toBe(`Plan for #7: verdict \`go\`, script sha256:${SHA}.`);
    expect(texts.planSummary(7, 'stop', null)).toBe('Plan for #7: verdict `stop`.');
    expect(texts.sweepSkipped('nothing to sweep.')).toBe('The sweep did not run: nothing to sweep.');
    expect(texts.sweepSummary(3, { url: 'https://x/pull/4' })).toBe(
      'The sweep found 3 new findings: https://x/pull/4',
    );
    expect(texts.sweepSummary(0)).toBe('The sweep found nothing new; no pull request was opened.');
  });

  test('jobFailed: which job, the message, how to go on', () => {
    const body = texts.jobFailed('run', 'boom');
    expect(body).toMatch(/^The run job failed: boom\n\n/);
    expect(body).toContain('reply `/workflow resume`');
  });

  test('runEnded: completed with or without a pull request', () => {
    expect(texts.runEnded(finished(), { url: 'https://x/pull/3' })).toBe(
      'The run completed: https://x/pull/3',
    );
    expect(texts.runEnded(finished(), undefined)).toBe(
      'The run completed with no changes and no findings: nothing to review.',
    );
  });

  test('runEnded: stopped or failed, the error neutralised, how to resume', () => {
    const stopped = texts.runEnded(
      finished({ status: 'stopped', error: 'budget <!-- dynamic-workflows:run {"planId":"plan-9"} -->' }),
      { url: 'https://x/pull/3' },
    );
    expect(stopped).toMatch(/^The run stopped: budget /);
    expect(stopped).not.toContain('<!--');
    expect(stopped).toContain('What it finished is in https://x/pull/3. Reply `/workflow resume`');
    const failed = texts.runEnded(finished({ status: 'failed', error: undefined }), undefined);
    expect(failed).toBe(
      'The run failed: no error recorded. Reply `/workflow resume` to continue from its journal.',
    );
  });

  test('runEnded: how many agents failed and why, with or without a pull request', () => {
    const partial = finished({ failedAgents: 2, failures: { 'API error 500': 2 } });
    expect(texts.runEnded(partial, { url: 'https://x/pull/3' })).toBe(
      'The run completed: https://x/pull/3. 2 of 5 agents failed (API error 500 ×2).',
    );
    expect(texts.runEnded(partial, undefined)).toBe(
      "The run completed with no changes and no findings, but 2 of 5 agents failed (API error 500 ×2): its report, in the run's artifact, says why.",
    );
    const hostile = finished({ failedAgents: 1, failures: { 'x <!-- dynamic-workflows:run {} -->': 1 } });
    expect(texts.runEnded(hostile, undefined)).not.toContain('<!--');
  });

  test('runEndedComment: the ending line, then the run marker with both ids once known', () => {
    const state = { ...emptyProgress(), runId: '20261126-010203-abcdef' };
    const body = texts.runEndedComment(finished(), undefined, state, {
      planId: 'plan-42',
      actionsRunId: '77',
    });
    expect(body.split('\n')[0]).toBe('The run completed with no changes and no findings: nothing to review.');
    expect(readMarker('run', asBot(body), trusted)).toEqual({
      planId: 'plan-42',
      runId: '20261126-010203-abcdef',
      actionsRunId: '77',
    });
  });

  test('runProgress and progressMarker: the plan, the job link, the status line; the plan alone until both ids are known', () => {
    const body = texts.runProgress(emptyProgress(), { planId: 'plan-42', runUrl: 'https://x/runs/1' });
    expect(body).toContain('**Running plan `plan-42`** ([job](https://x/runs/1))');
    expect(body).toContain('`starting · 0 running · 0 done');
    expect(readMarker('run', asBot(body), trusted)).toEqual({ planId: 'plan-42' });
    const local = { ...emptyProgress(), runId: '20261126-010203-abcdef' };
    expect(texts.progressMarker(local, { planId: 'plan-42', actionsRunId: 'local' })).toBe(
      writeMarker('run', { planId: 'plan-42' }),
    );
  });
});

describe('the pull request', () => {
  const report = '# audit: src/api\n\nThe report.\n';

  test('of a plan: title, who requested and approved it, the estimate against the actual, the report', () => {
    const { title, body } = texts.pullRequestFor(finished(), report, {
      marker: planMarker,
      approver: 'bob',
      issue: 12,
    });
    expect(title).toBe('audit: 1 fix (run 20261126-010203-abcdef)');
    expect(body).toContain(
      `Plan \`plan-42\` (script \`sha256:${SHA}\`), requested by @alice and approved by @bob in #12.`,
    );
    expect(body).toContain('Estimate: 3–7 agents, $0.50–$1.25. Actual: 5 agents, $0.75.');
    expect(body.endsWith(report)).toBe(true);
    expect(body).not.toContain('Needs a careful look');
  });

  test('of a plan: sensitive files first, in code spans that hostile names cannot close', () => {
    const { body } = texts.pullRequestFor(
      finished({ result: {}, usage: { ...finished().usage, usd: null } }),
      'no heading',
      { marker: { ...planMarker, estimate: undefined }, approver: 'bob', issue: 12 },
      ['src/a.ts', '.github/workflows/x`y.yml'],
    );
    expect(body.startsWith('> [!WARNING]\n> **Needs a careful look**')).toBe(true);
    expect(body).toContain('> - ``.github/workflows/x`y.yml``: GitHub Actions');
    expect(body).not.toContain('src/a.ts');
    expect(body).toContain('\nActual: 5 agents.\n');
  });

  test('of a plan whose agents partly failed: how many and why, near the top', () => {
    const { body } = texts.pullRequestFor(
      finished({
        failedAgents: 2,
        failures: { 'API error 500': 1, 'Connection error': 1 },
        replayedAgents: 1,
      }),
      report,
      { marker: planMarker, approver: 'bob', issue: 12 },
      ['.gitattributes'],
    );
    const lines = body.split('\n');
    expect(lines[0]).toBe('> [!WARNING]');
    expect(body).toContain(
      "> [!WARNING]\n> **2 of 6 agents failed (API error 500, Connection error)**: their part of the work is missing here; the report's Failures section says why.\n\nPlan `plan-42`",
    );
    expect(
      texts.pullRequestFor(finished(), report, { marker: planMarker, approver: 'bob', issue: 12 }).body,
    ).not.toContain('failed');
  });

  test("of a plan: the fixes the record bears out in the title, the run's diagram and where its trace is", () => {
    const diagram = '```mermaid\nflowchart LR\n  p0["Find"]:::done\n```';
    const trace =
      'Trace: the artifact [`dynamic-workflows-77`](https://github.com/o/r/actions/runs/77#artifacts) holds the run directory.';
    const { title, body } = texts.pullRequestFor(
      finished(),
      report,
      { marker: planMarker, approver: 'bob', issue: 12 },
      [],
      { fixed: 0, diagram, trace },
    );
    // The script claimed one fix; the record bore out none: the title counts findings instead.
    expect(title).toBe('audit: 2 findings (run 20261126-010203-abcdef)');
    expect(body).toContain(`Actual: 5 agents, $0.75.\n\n${diagram}\n\n${trace}\n\nAutomated changes:`);
    expect(body.endsWith(report)).toBe(true);
  });

  test("the progress comment's last version names the artifact when it knows the Actions run", () => {
    const info = { planId: 'plan-42', runUrl: 'https://github.com/o/r/actions/runs/77', actionsRunId: '77' };
    const ended = texts.runEndedComment(
      finished(),
      { url: 'https://github.com/o/r/pull/3' },
      emptyProgress(),
      info,
    );
    expect(ended).toContain(
      'Trace: the artifact [`dynamic-workflows-77`](https://github.com/o/r/actions/runs/77#artifacts) holds the run directory; open `20261126-010203-abcdef/trace.html`',
    );
    expect(
      texts.runEndedComment(finished(), undefined, emptyProgress(), { planId: 'plan-42' }),
    ).not.toContain('Trace:');
  });

  test('of a sweep: the new findings, the known fingerprints in its last line', () => {
    const { title, body } = texts.pullRequestFor(
      finished({
        result: {
          findings: [
            { title: 'a', fingerprint: 'f2' },
            { title: 'b', fingerprint: 'f1' },
          ],
        },
      }),
      report,
      { sweep: true, known: ['f1'] },
    );
    expect(title).toBe('audit: 2 findings (run 20261126-010203-abcdef)');
    expect(body).toMatch(
      /^The scheduled security sweep found 2 new findings\. Actual: 5 agents, \$0\.75\.\n\n---\n\n/,
    );
    expect(readMarker('sweep-known', asBot(body), trusted)).toEqual(['f1', 'f2']);
  });
});
