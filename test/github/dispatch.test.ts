import { describe, expect, test } from 'vitest';
import { dispatchInputs, parseDispatch } from '../../src/github/dispatch.js';

const SHA = 'a'.repeat(64);

/** A dispatch as GitHub's event carries it: every declared input, the unset ones empty. */
const eventOf = (mode: string) => ({
  mode,
  issue: '4',
  request: '',
  requester: '',
  comment_id: '',
  plan_comment_id: '100',
  script_sha256: SHA,
  approver: '',
  revise_plan_comment_id: '',
  feedback: '',
  resume_actions_run_id: '4242',
});

describe('the dispatch inputs', () => {
  test('what the sender builds, the receiver reads back: text on the wire, numbers once parsed', () => {
    const sent = dispatchInputs({
      mode: 'run',
      issue: 4,
      plan_comment_id: 100,
      script_sha256: SHA,
      approver: 'maintainer',
    });
    expect(sent).toEqual({
      mode: 'run',
      issue: '4',
      plan_comment_id: '100',
      script_sha256: SHA,
      approver: 'maintainer',
    });
    expect(parseDispatch(sent)).toEqual({
      ok: true,
      inputs: { mode: 'run', issue: 4, plan_comment_id: 100, script_sha256: SHA, approver: 'maintainer' },
    });
  });

  test("a label's plan is sent with an empty comment_id, which the receiver reads as none", () => {
    const sent = dispatchInputs({ mode: 'plan', issue: 3, request: 'audit', requester: 'alice' });
    expect(sent).toEqual({ mode: 'plan', issue: '3', request: 'audit', requester: 'alice', comment_id: '' });
    const parsed = parseDispatch(sent);
    expect(parsed.ok && parsed.inputs).toEqual({
      mode: 'plan',
      issue: 3,
      request: 'audit',
      requester: 'alice',
    });
  });

  test("GitHub's event lists every declared input, empty when unset: a mode reads only its own", () => {
    const event = eventOf('resume');
    expect(parseDispatch(event)).toEqual({
      ok: true,
      inputs: {
        mode: 'resume',
        issue: 4,
        plan_comment_id: 100,
        script_sha256: SHA,
        resume_actions_run_id: '4242',
      },
    });
  });

  test.each([
    [
      { mode: 'run', issue: '4', plan_comment_id: '1e3', script_sha256: SHA },
      'plan_comment_id',
      'digits only',
    ],
    [
      { mode: 'run', issue: '4', plan_comment_id: '1', script_sha256: '../x' },
      'script_sha256',
      '64 lowercase hex',
    ],
    [{ mode: 'run', issue: '0', plan_comment_id: '1', script_sha256: SHA }, 'issue', ''],
    [{ mode: 'plan', issue: '4', requester: 'a b' }, 'requester', 'a GitHub login'],
    [
      { mode: 'resume', issue: '4', plan_comment_id: '1', script_sha256: SHA, resume_actions_run_id: '../1' },
      'resume_actions_run_id',
      'digits only',
    ],
    [{ mode: 'deploy', issue: '4' }, 'mode', ''],
  ])('a bad input is one sentence naming it and what is wrong, never its value: %j', (raw, input, what) => {
    const parsed = parseDispatch(raw);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem).toMatch(new RegExp(`^the dispatch input \`${input}\` is not valid: `));
    expect(parsed.problem).toContain(what);
    expect(parsed.problem).not.toContain('../');
    expect(parsed.problem).not.toContain('a b');
  });

  test('a sharded run: the plan and its hash; a resume adds the Actions run whose shard artifacts it reads', () => {
    const first = dispatchInputs({ mode: 'sharded', issue: 4, plan_comment_id: 100, script_sha256: SHA });
    expect(first).toEqual({ mode: 'sharded', issue: '4', plan_comment_id: '100', script_sha256: SHA });
    expect(parseDispatch(first)).toEqual({
      ok: true,
      inputs: { mode: 'sharded', issue: 4, plan_comment_id: 100, script_sha256: SHA },
    });
    // As GitHub's event carries it: every declared input, the unset ones empty.
    const event = eventOf('sharded');
    expect(parseDispatch(event)).toEqual({
      ok: true,
      inputs: {
        mode: 'sharded',
        issue: 4,
        plan_comment_id: 100,
        script_sha256: SHA,
        resume_actions_run_id: '4242',
      },
    });
    expect(parseDispatch({ ...event, resume_actions_run_id: '' })).toEqual({
      ok: true,
      inputs: { mode: 'sharded', issue: 4, plan_comment_id: 100, script_sha256: SHA },
    });
  });

  test.each([
    [{ mode: 'sharded', issue: '4', script_sha256: SHA }, 'plan_comment_id'],
    [{ mode: 'sharded', issue: '4', plan_comment_id: '100', script_sha256: 'x' }, 'script_sha256'],
    [
      { mode: 'sharded', issue: '4', plan_comment_id: '100', script_sha256: SHA, resume_actions_run_id: '0' },
      'resume_actions_run_id',
    ],
  ])('a sharded dispatch without what it needs is refused, naming the input: %j', (raw, input) => {
    const parsed = parseDispatch(raw);
    expect(parsed.ok === false && parsed.problem).toMatch(
      new RegExp(`^the dispatch input \`${input}\` is not valid: `),
    );
  });

  test('the sender never dispatches what the receiver would refuse', () => {
    expect(() =>
      dispatchInputs({ mode: 'run', issue: 4, plan_comment_id: 1, script_sha256: 'not-a-hash' }),
    ).toThrow('the dispatch input `script_sha256` is not valid');
  });
});
