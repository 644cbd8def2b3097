import { describe, expect, test } from 'vitest';
import { digestEvents, type RunEvent } from '../../src/engine/events.js';
import { failuresSection } from '../../src/report/failures.js';
import { cacheHitRatio, findingsOf, qualityCheck } from '../../src/report/report.js';

describe('the quality check', () => {
  test('flags added lines that cut corners, and ignores removed ones', () => {
    const diff = [
      'diff --git a/src/a.ts b/src/a.ts',
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -1,2 +1,6 @@',
      '-const old: any = 1;',
      '+const data: any = load();',
      '+// @ts-ignore',
      '+/* eslint-disable no-console */',
      "+it.skip('flaky', () => {});",
      '+// TODO: handle errors',
      '+const fine = 2;',
      '+++ TODO hidden as a header',
      'diff --git a/src/lib.rs b/src/lib.rs',
      '--- a/src/lib.rs',
      '+++ b/src/lib.rs',
      '@@ -0,0 +1 @@',
      '+unsafe { ptr.read() }',
    ].join('\n');
    expect(qualityCheck(diff)).toEqual([
      { check: 'type escape hatch `any`', file: 'src/a.ts', line: 'const data: any = load();' },
      { check: '`@ts-ignore` / `@ts-expect-error`', file: 'src/a.ts', line: '// @ts-ignore' },
      { check: 'lint rule disabled', file: 'src/a.ts', line: '/* eslint-disable no-console */' },
      { check: 'skipped or focused test', file: 'src/a.ts', line: "it.skip('flaky', () => {});" },
      { check: 'TODO / FIXME left behind', file: 'src/a.ts', line: '// TODO: handle errors' },
      { check: 'TODO / FIXME left behind', file: 'src/a.ts', line: '++ TODO hidden as a header' },
      { check: '`unsafe` code', file: 'src/lib.rs', line: 'unsafe { ptr.read() }' },
    ]);
  });

  test('cache hit ratio is cache reads over all input tokens', () => {
    const totals = {
      agents: 1,
      inputTokens: 100,
      cacheWriteTokens: 100,
      cacheReadTokens: 800,
      outputTokens: 50,
      usd: null,
    };
    expect(cacheHitRatio(totals)).toBe(0.8);
    expect(cacheHitRatio({ ...totals, inputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 })).toBeNull();
  });

  test('findings are read from the result when it carries them', () => {
    expect(findingsOf({ findings: [{ title: 'a' }, { nope: 1 }, 'x'] })).toEqual([{ title: 'a' }]);
    expect(findingsOf('text')).toEqual([]);
  });
});

describe('the failures section', () => {
  const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  const failed = (index: number, reason: string): RunEvent => ({
    t: index,
    type: 'agent.finished',
    index,
    status: 'failed',
    usage,
    usd: null,
    error: reason,
    reason,
  });

  test('how many failed of how many, why with counts (a hostile reason inert in its cell), and nothing when none failed', () => {
    const digest = digestEvents([
      failed(0, 'API error 500'),
      failed(1, 'API error 500'),
      failed(2, 'a | b <!-- dynamic-workflows:run {} -->'),
      { t: 3, type: 'agent.finished', index: 3, status: 'completed', usage, usd: null },
      { t: 4, type: 'agent.retry', index: 0, attempt: 1, of: 12, reason: 'API error 500', delayMs: 1 },
    ]);
    const lines = failuresSection(digest).join('\n');
    expect(lines).toMatch(/^\n## Failures\n\n3 of 4 agents failed; 1 succeeded\. /);
    expect(lines).toContain('Model calls were retried 1 time in all.');
    expect(lines).toContain('| 2 | API error 500 |');
    expect(lines).toContain('| 1 | a \\| b <!\u2010\u2010 dynamic-workflows:run {} \u2010\u2010> |');
    expect(failuresSection(digestEvents([]))).toEqual([]);
  });
});
