import { describe, expect, test } from 'vitest';
import { checkScript, formatDiagnostics } from '../../src/script/check.js';

const META = `export const meta = { name: 'n', description: 'd' };\n`;

function problems(source: string): string[] {
  const result = checkScript(source);
  return result.ok ? [] : result.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);
}

describe('checkScript', () => {
  test('accepts a script with a pure meta literal, top-level await and top-level return', () => {
    const result = checkScript(
      `export const meta = {
  name: 'audit',
  description: \`multi
line\`,
  whenToUse: 'always',
  phases: [{ title: 'Find', detail: 'fan out', model: 'sonnet' }, { title: 'Verify' }],
  retries: -1,
  flags: { deep: true, none: null },
};
const x = await agent('hi');
return x;`,
    );
    expect(result.ok).toBe(true);
    expect(result.meta).toEqual({
      name: 'audit',
      description: 'multi\nline',
      whenToUse: 'always',
      phases: [{ title: 'Find', detail: 'fan out', model: 'sonnet' }, { title: 'Verify' }],
      retries: -1,
      flags: { deep: true, none: null },
    });
  });

  test('the sandbox body keeps every line and column where the author wrote them', () => {
    const source = `// header\nexport const meta = { name: 'n', description: 'd' };\nreturn 1;`;
    const result = checkScript(source);
    if (!result.ok) throw new Error('expected ok');
    expect(result.body).toBe(`// header\n       const meta = { name: 'n', description: 'd' };\nreturn 1;`);
    expect(result.body.length).toBe(source.length);
  });

  test('meta must come first', () => {
    expect(problems(`const a = 1;\n${META}`)).toEqual([
      '1:1: the first statement must be `export const meta = { name: ..., description: ... }` (a pure object literal)',
      '2:1: only `export const meta` may be exported; return the result instead',
    ]);
    expect(problems('')).toEqual([
      '1:1: empty script: the first statement must be `export const meta = { name: ..., description: ... }` (a pure object literal)',
    ]);
  });

  test.each([
    ['a variable', `name: n`, 'Identifier is not allowed'],
    ['a call', `name: String(1)`, 'CallExpression is not allowed'],
    ['a spread', `...{ name: 'x' }`, 'no spreads'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the script under test interpolates, not this test
    ['interpolation', 'name: `a${1}`', 'template literals may not interpolate'],
    ['a method', `name() { return 'x' }`, 'only `key: value` properties'],
    ['a computed key', `['name']: 'x'`, 'only `key: value` properties'],
  ])('meta refuses %s', (_what, prop, message) => {
    const found = problems(`export const meta = { ${prop}, description: 'd' };`);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`meta must be a pure literal: `);
    expect(found[0]).toContain(message);
  });

  test('name and description are required strings; phases need titles', () => {
    expect(problems(`export const meta = { name: '' };`)).toEqual([
      '1:21: meta.name is required and must be a non-empty string',
      '1:21: meta.description is required and must be a non-empty string',
    ]);
    expect(
      problems(`export const meta = { name: 'a', description: 'b', phases: [{ detail: 'x' }] };`),
    ).toEqual(['1:21: meta.phases[0] must be an object with a string title']);
  });

  test('import, import() and require are refused with their positions', () => {
    expect(problems(`${META}import fs from 'fs';`)).toEqual([
      '2:1: `import` is not allowed: workflow scripts have no modules; agents do all I/O',
    ]);
    expect(problems(`${META}const m = await import('fs');`)).toEqual([
      '2:17: `import()` is not allowed: workflow scripts have no modules; agents do all I/O',
    ]);
    expect(problems(`${META}\n  const cp = require('child_process');`)).toEqual([
      '3:14: `require` is not allowed: workflow scripts have no modules; agents do all I/O',
    ]);
    expect(problems(`${META}const u = import.meta.url;`)).toEqual(['2:11: `import.meta` is not allowed']);
  });

  test('only meta may be exported', () => {
    expect(problems(`${META}export default 1;`)).toEqual([
      '2:1: only `export const meta` may be exported; return the result instead',
    ]);
  });

  test('TypeScript syntax is named as such', () => {
    expect(problems(`${META}const files: string[] = [];`)).toEqual([
      '2:12: TypeScript syntax is not supported: workflow scripts are plain JavaScript (remove type annotations, interfaces, generics and `as` casts)',
    ]);
    expect(problems(`${META}interface A { x: number }`)[0]).toContain('TypeScript syntax is not supported');
  });

  test('syntax errors carry the line and column', () => {
    expect(problems(`${META}const a = ;`)).toEqual(['2:11: syntax error: Unexpected token']);
  });

  test('formatDiagnostics prints FILE:LINE:COL: message', () => {
    expect(formatDiagnostics('plan.js', [{ line: 3, column: 7, message: 'bad' }])).toBe('plan.js:3:7: bad');
  });
});
