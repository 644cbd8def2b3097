import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { base64Fragments, configuredSecrets, Redactor } from '../../src/agents/secrets.js';
import type { RunEvent } from '../../src/engine/events.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { runScript } from '../helpers.js';

// F9: secrets whose serialised form differs from the value, and encodings that were not known.

const TOKEN = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
/** A configured secret (redactEnv) with a quote, a backslash and a control character. */
const ODD = 'pa"ss\\word-123\tend';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const hex = (s: string) => Buffer.from(s).toString('hex');

describe('the redactor', () => {
  const r = new Redactor([TOKEN], {});

  test('knows the JSON-escaped form of a secret with a quote, a backslash or a control character', () => {
    const odd = new Redactor(configuredSecrets(['DEPLOY_PASSWORD'], { DEPLOY_PASSWORD: ODD }));
    expect(JSON.stringify(ODD)).toBe('"pa\\"ss\\\\word-123\\tend"');
    expect(odd.redact(JSON.stringify({ text: `leak ${ODD}!` }))).toBe('{"text":"leak [REDACTED]!"}');
    expect(odd.redact(`raw ${ODD}`)).toBe('raw [REDACTED]');
    expect(odd.redactValue({ text: `leak ${ODD}`, list: [ODD, 1, null], [ODD]: true })).toEqual({
      text: 'leak [REDACTED]',
      list: ['[REDACTED]', 1, null],
      '[REDACTED]': true,
    });
  });

  test('redacts JSON text in place, and stays valid JSON when a secret matches across its syntax', () => {
    const odd = new Redactor(configuredSecrets(['DEPLOY_PASSWORD'], { DEPLOY_PASSWORD: ODD }));
    const json = JSON.stringify({ text: `leak ${ODD}`, [ODD]: 1 });
    expect(odd.redactJson(json)).toBe('{"text":"leak [REDACTED]","[REDACTED]":1}');
    // Unchanged text is returned as it is (the same string: nothing was copied).
    const clean = JSON.stringify({ text: 'nothing here' });
    expect(odd.redactJson(clean)).toBe(clean);
    // A secret of digits inside a number, and one that spans a string's end and the next key:
    // a plain text replacement would break the JSON; only the strings that hold them are redacted.
    const digits = new Redactor(['9876543210']);
    expect(digits.redactJson('{"tokens":19876543210,"note":"pin 9876543210"}')).toBe(
      '{"tokens":19876543210,"note":"pin [REDACTED]"}',
    );
    const across = new Redactor(['end","key']);
    const text = JSON.stringify({ a: 'the end', key: 'x', b: 'end","key' });
    const out = across.redactJson(text);
    expect(JSON.parse(out)).toEqual({ a: 'the end', key: 'x', b: '[REDACTED]' });
  });

  test('redacts a value deeper than the stack, keeping key order and __proto__ as a plain key', () => {
    let deep: unknown = TOKEN;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let inner = r.redactValue(deep);
    for (let i = 0; i < 100_000; i++) inner = (inner as unknown[])[0];
    expect(inner).toBe('[REDACTED]');
    const parsed = JSON.parse(`{"b":1,"__proto__":"${TOKEN}","a":2}`);
    const clean = r.redactValue(parsed);
    expect(JSON.stringify(clean)).toBe('{"b":1,"__proto__":"[REDACTED]","a":2}');
    expect(Object.getPrototypeOf(clean)).toBe(Object.prototype);
  });

  test('knows hex, lower and upper case, inside a longer dump', () => {
    expect(r.redact(`0x${hex(`pre:${TOKEN}`)}`)).toBe(`0x${hex('pre:')}[REDACTED]`);
    expect(r.redact(hex(TOKEN).toUpperCase())).toBe('[REDACTED]');
  });

  test('finds base64 and hex wrapped across lines (base64 at 76, xxd -p at 60, CRLF, and inside JSON)', () => {
    for (const width of [76, 20]) {
      const wrapped = b64(`${'x'.repeat(40)}x-access-token:${TOKEN}tail`).replace(
        new RegExp(`(.{${width}})`, 'g'),
        '$1\n',
      );
      // The break falls inside the token's base64 for each of these widths.
      const fragments = base64Fragments(TOKEN);
      expect(fragments.some((f) => wrapped.includes(f))).toBe(false);
      expect(fragments.some((f) => wrapped.replace(/\n/g, '').includes(f))).toBe(true);
      for (const text of [wrapped, wrapped.replace(/\n/g, '\r\n'), JSON.stringify({ out: wrapped })]) {
        const clean = r.redact(text);
        expect(clean).toContain('[REDACTED]');
        const joined = clean.replace(/\\r|\\n|\s/g, '');
        expect(fragments.some((f) => joined.includes(f.slice(0, 24)))).toBe(false);
      }
    }
    expect(r.redact(hex(TOKEN).replace(/(.{60})/g, '$1\n'))).toBe('[REDACTED]');
  });

  test('leaves ordinary text alone and reports what it finds', () => {
    const text = 'diff --git a/x b/x\n+const a = 1;\nQUJDREVGR0g=\n';
    expect(r.redact(text)).toBe(text);
    expect(r.finds(text)).toBe(false);
    expect(r.finds(`token: ${TOKEN}`)).toBe(true);
    expect(new Redactor([], {}).finds(TOKEN)).toBe(false);
  });

  test('stays fast on a large text with line breaks', () => {
    const text = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n'.repeat(50_000)}`;
    const started = performance.now();
    expect(r.redact(text)).toBe(text);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('through a run: events.jsonl, what onEvent receives, the report', () => {
  test('a configured secret with " and \\, its hex and its wrapped base64 are redacted everywhere', async () => {
    const events: RunEvent[] = [];
    const wrapped = b64(`user:${TOKEN}`).replace(/(.{20})/g, '$1\n');
    const { summary, logged } = await runScript(
      `log('leak ' + args.odd); log('hex ' + args.hex); log('b64\\n' + args.wrapped); throw new Error('failed with ' + args.odd);`,
      {
        args: { odd: ODD, hex: hex(TOKEN), wrapped },
        secrets: [TOKEN, ...configuredSecrets(['DEPLOY_PASSWORD'], { DEPLOY_PASSWORD: ODD })],
        env: {},
        onEvent: (e) => events.push(e),
      },
    );
    const forms = [ODD, JSON.stringify(ODD).slice(1, -1), TOKEN, hex(TOKEN), b64(TOKEN).slice(4, 30)];
    const eventLog = readFileSync(join(summary.runDir, 'events.jsonl'), 'utf8');
    const report = readFileSync(summary.reportPath, 'utf8');
    for (const text of [eventLog, JSON.stringify(events), JSON.stringify(logged), report]) {
      for (const form of forms) expect(text.replace(/\\n|\n/g, '')).not.toContain(form);
    }
    const logs = events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(logs).toEqual([
      'leak [REDACTED]',
      'hex [REDACTED]',
      expect.stringMatching(/^b64\n.*\[REDACTED\]/s),
    ]);
    // Every line of the event log is still JSON.
    for (const line of eventLog.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(summary.error).toContain('failed with [REDACTED]');
    // The report's arguments line is JSON: the escaped form is caught there too.
    expect(report).toContain('- arguments: `{"odd":"[REDACTED]"');
  });

  test('an agent that answers with a secret: the script, the journal and a resume see it redacted', async () => {
    const provider = createFixtureProvider('f.json', {
      rules: [{ match: {}, text: `the token is ${TOKEN} (${b64(TOKEN)})` }],
    });
    const script = `const said = await agent('tell'); log(said); return said;`;
    const first = await runScript(script, { provider, secrets: [TOKEN], env: {} });
    // base64's last characters hold bits of the padding, not of the secret alone: they may remain.
    expect(first.summary.result).toMatch(/^the token is \[REDACTED\] \(\[REDACTED\][A-Za-z0-9+/=]{0,3}\)$/);
    const journal = readFileSync(join(first.summary.runDir, 'journal.jsonl'), 'utf8');
    expect(journal).toContain('the token is [REDACTED]');
    expect(journal).not.toContain(TOKEN);
    expect(journal).not.toContain(b64(TOKEN));
    const second = await runScript(script, {
      provider,
      secrets: [TOKEN],
      env: {},
      runsDir: join(first.summary.runDir, '..'),
      resume: first.summary.runId,
    });
    expect(second.summary.result).toBe(first.summary.result);
  });
});
