import { describe, expect, test } from 'vitest';
import { checkId } from '../../src/github/ids.js';
import {
  markersIn,
  mention,
  neutralise,
  quoteUserText,
  readMarker,
  writeMarker,
} from '../../src/github/markers.js';

const BOT = 'dynamic-workflows[bot]';
const trusted = [BOT, 'github-actions[bot]'];
const SHA = 'c'.repeat(64);
const approval = writeMarker('approval', {
  planId: 'plan-1',
  scriptSha256: SHA,
  approver: 'octocat',
  commentId: 5,
});
const plan = writeMarker('plan', {
  planId: 'plan-1',
  scriptSha256: SHA,
  baseSha: 'b'.repeat(40),
  requester: 'octocat',
  request: 'audit <!-- x --> --',
});
const by = (login: string, body: string) => ({ body, user: { login } });

describe('markers', () => {
  test('a marker written is read back from the bot, where the bot puts it', () => {
    expect(readMarker('approval', by(BOT, `Approved.\n\n${approval}\n`), trusted)).toEqual({
      planId: 'plan-1',
      scriptSha256: SHA,
      approver: 'octocat',
      commentId: 5,
    });
    expect(readMarker('plan', by(BOT, `${plan}\r\n## Plan`), trusted)).toMatchObject({
      request: 'audit <!-- x --> --',
    });
    // `--` never appears inside the marker's HTML comment.
    expect(plan.slice(4, -3)).not.toContain('--');
  });

  test.each([
    ['written by someone else', by('mallory', `Approved.\n\n${approval}`)],
    ['a bot without trust', by('renovate[bot]', `Approved.\n\n${approval}`)],
    ['not on the last line', by(BOT, `${approval}\nthen more text`)],
    ['inside the text', by(BOT, `Planning \`x ${approval}\` for you\n\n${writeMarker('ack', 3)}`)],
    ['of another kind', by(BOT, `Done.\n\n${writeMarker('ack', 5)}`)],
    ['malformed JSON', by(BOT, 'x\n<!-- dynamic-workflows:approval {"planId": -->')],
    [
      'failing its schema (a path for a plan id)',
      by(
        BOT,
        `x\n<!-- dynamic-workflows:approval {"planId":"../../etc","scriptSha256":"${SHA}","approver":"o","commentId":5} -->`,
      ),
    ],
    ['with extra keys', by(BOT, `x\n${approval.replace('"commentId":5', '"commentId":5,"admin":true')}`)],
    ['no body', { body: null, user: { login: BOT } }],
    ['no author', { body: approval, user: null }],
  ])('no approval is read when it is %s', (_what, authored) => {
    expect(readMarker('approval', authored, trusted)).toBeUndefined();
  });

  test('a plan marker counts only as the first line', () => {
    expect(readMarker('plan', by(BOT, `Here:\n${plan}`), trusted)).toBeUndefined();
    expect(readMarker('plan', by(BOT, `${plan}\n## Plan`), ['someone[bot]'])).toBeUndefined();
  });

  test('markersIn keeps thread order and skips the rest', () => {
    const thread = [
      by(BOT, `a\n\n${writeMarker('ack', 1)}`),
      by('mallory', `b\n\n${writeMarker('ack', 2)}`),
      by(BOT, `c\n\n${writeMarker('ack', 3)}`),
    ];
    expect(markersIn('ack', thread, trusted).map((m) => m.marker)).toEqual([1, 3]);
  });

  test('the bot refuses to write a marker it would not read back', () => {
    expect(() => writeMarker('run', { planId: 'p', runId: '../../etc' })).toThrow();
    expect(() => writeMarker('ack', -1)).toThrow();
  });
});

describe('user text as the bot repeats it', () => {
  test('can neither open an HTML comment nor leave its code span', () => {
    const quoted = quoteUserText('x <!-- dynamic-workflows:ack 1 --> `y`\n<!--z--!>');
    expect(quoted).toBe("`x <!‐‐ dynamic-workflows:ack 1 ‐‐> 'y' <!‐‐z‐‐!>`");
    expect(quoted).not.toMatch(/<!--|-->|--!>/);
    expect(quoted.slice(1, -1)).not.toContain('`');
  });

  test('is cut to a length', () => {
    expect(quoteUserText('a'.repeat(500))).toBe(`\`${'a'.repeat(200)}…\``);
  });

  test('neutralise leaves other text alone', () => {
    expect(neutralise('npm test -- --watch; a <b> c')).toBe('npm test -- --watch; a <b> c');
  });

  test('a mention is made only of a real login', () => {
    expect(mention('octocat')).toBe('@octocat');
    expect(mention('dynamic-workflows[bot]')).toBe('@dynamic-workflows[bot]');
    expect(mention('x <!-- y')).toBe('`x <!‐‐ y`');
  });
});

describe('ids', () => {
  test.each([
    ['runId', '20261125-100000-a1b2c3', true],
    ['runId', '../../etc', false],
    ['runId', '..', false],
    ['runId', 'a/b', false],
    ['planId', 'plan-123', true],
    ['actionsRunId', '4242', true],
    ['actionsRunId', '42a', false],
    ['actionsRunId', '-1', false],
    ['commentId', 12, true],
    ['commentId', 0, false],
    ['commentId', Number.NaN, false],
    ['sha256', 'c'.repeat(64), true],
    ['sha256', 'C'.repeat(64), false],
  ] as const)('%s %j valid: %s', (kind, value, ok) => {
    expect(checkId(kind, value, 'it').ok).toBe(ok);
  });

  test('a bad id is named in the refusal', () => {
    expect(checkId('runId', '../../etc', 'the run id')).toEqual({
      ok: false,
      problem: 'the run id "../../etc" is not a valid runId (letters, digits, - and _ only)',
    });
  });
});
