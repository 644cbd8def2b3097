import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { noRepoCode } from '../../src/agents/isolation.js';
import { base64Fragments, configuredSecrets, Redactor, secretForms } from '../../src/agents/secrets.js';
import { runTool, type ToolEnvironment } from '../../src/agents/tools.js';
import { Workspace } from '../../src/agents/workspace.js';
import { git, tempDir } from '../helpers.js';

/** The tools of one agent working in `root` (no repository code: these tests run none). */
function toolsIn(root: string, workspace: Workspace, secrets: string[] = []): ToolEnvironment {
  return {
    root,
    agentIndex: 0,
    workspace,
    redactor: new Redactor(secrets),
    runner: noRepoCode,
    allowedCommands: [],
    commandTimeoutMs: 5000,
    signal: new AbortController().signal,
    onCommand: () => undefined,
  };
}

/**
 * A repository with committed symbolic links whose targets do not exist yet, checked out the way a
 * run checks it out (its own worktree): the attack of hole 9.
 */
async function checkoutWithLinks() {
  const outside = tempDir('dwf-outside-');
  const repo = tempDir('dwf-links-');
  writeFileSync(join(repo, 'README.md'), 'readme\n');
  writeFileSync(join(outside, 'secret.txt'), 'outside secret\n');
  symlinkSync(join(outside, 'notes.md'), join(repo, 'notes.md'));
  symlinkSync('.git/hooks/pre-commit', join(repo, 'hook.md'));
  symlinkSync(outside, join(repo, 'docs'));
  symlinkSync(join(outside, 'secret.txt'), join(repo, 'secret-link.txt'));
  git(repo, 'init', '-q', '--initial-branch=main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'links');
  const workspace = new Workspace({ repoDir: repo, runDir: tempDir(), runId: 'links' });
  const root = await workspace.root();
  const env = toolsIn(root, workspace);
  const call = (name: string, input: Record<string, unknown>) => runTool({ id: 't', name, input }, env);
  return { repo, outside, root, call };
}

describe('symbolic links committed to the repository (hole 9)', () => {
  test('writes through a dangling link create nothing outside the workspace or in .git', async () => {
    const { repo, outside, root, call } = await checkoutWithLinks();
    const notes = await call('write_file', { path: 'notes.md', content: 'planted' });
    expect(notes).toEqual({
      content:
        'refused: notes.md goes through a symbolic link (notes.md); the file tools read and write real files only',
      isError: true,
    });
    expect(
      await call('write_file', { path: 'hook.md', content: '#!/bin/sh\ntouch /tmp/pwned\n' }),
    ).toMatchObject({
      isError: true,
      content: expect.stringContaining('goes through a symbolic link (hook.md)'),
    });
    expect(await call('write_file', { path: 'docs/new.md', content: 'planted' })).toMatchObject({
      isError: true,
      content: expect.stringContaining('goes through a symbolic link (docs)'),
    });
    expect(
      await call('edit_file', { path: 'secret-link.txt', old_string: 'outside', new_string: 'changed' }),
    ).toMatchObject({ isError: true });
    expect(existsSync(join(outside, 'notes.md'))).toBe(false);
    expect(existsSync(join(outside, 'new.md'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside secret\n');
    expect(existsSync(join(repo, '.git', 'hooks', 'pre-commit'))).toBe(false);
    // The links are still links: nothing replaced them either.
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  test('reads, listings and searches do not follow links', async () => {
    const { call } = await checkoutWithLinks();
    expect(await call('read_file', { path: 'secret-link.txt' })).toMatchObject({
      isError: true,
      content: expect.stringContaining('goes through a symbolic link (secret-link.txt)'),
    });
    expect(await call('read_file', { path: 'docs/secret.txt' })).toMatchObject({ isError: true });
    expect((await call('list_files', {})).content).toBe('README.md');
    expect(await call('list_files', { path: 'docs' })).toMatchObject({ isError: true });
    expect((await call('search', { pattern: 'outside secret' })).content).toContain('no matches');
  });

  test('a link planted between the check and the write is refused by O_NOFOLLOW', async () => {
    const { outside, root, call } = await checkoutWithLinks();
    mkdirSync(join(root, 'sub'));
    expect((await call('write_file', { path: 'sub/ok.md', content: 'fine' })).isError).toBe(false);
    symlinkSync(join(outside, 'late.md'), join(root, 'sub', 'late.md'));
    const late = await call('write_file', { path: 'sub/late.md', content: 'x' });
    expect(late.isError).toBe(true);
    expect(existsSync(join(outside, 'late.md'))).toBe(false);
  });
});

describe('search (hole 8)', () => {
  test('a catastrophic backtracking pattern returns in well under a second (RE2: linear time)', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'a.txt'), `${'a'.repeat(29)}b\n`.repeat(200));
    writeFileSync(join(root, 'b.txt'), `${'a'.repeat(30)}\n`);
    const env = toolsIn(root, new Workspace({ repoDir: root, runDir: tempDir(), runId: 'r' }), []);
    const started = performance.now();
    const result = await runTool({ id: 't', name: 'search', input: { pattern: '^(a+)+$' } }, env);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(result.content).toContain('matches="1"');
    expect(result.content).toContain(`b.txt:1: ${'a'.repeat(30)}`);
    expect(result.content).not.toContain('a.txt:');
  });

  test('a secret that straddles the 300-character cut of a matching line is redacted, not cut in half', async () => {
    const root = tempDir();
    const secret = 'ghs_straddlingTheCutToken0123456789';
    writeFileSync(join(root, 'config.txt'), `${'x'.repeat(290)}${secret} needle\n`);
    const env = toolsIn(root, new Workspace({ repoDir: root, runDir: tempDir(), runId: 'r' }), [secret]);
    const result = await runTool({ id: 't', name: 'search', input: { pattern: 'needle' } }, env);
    expect(result.content).toContain(`config.txt:1: ${'x'.repeat(290)}[REDACTED]`);
    expect(result.content).not.toContain(secret.slice(0, 10));
  });

  test('syntax RE2 lacks is a clear tool error', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'a.txt'), 'x\n');
    const env = toolsIn(root, new Workspace({ repoDir: root, runDir: tempDir(), runId: 'r' }), []);
    const search = (pattern: string) => runTool({ id: 't', name: 'search', input: { pattern } }, env);
    expect(await search('foo(?=bar)')).toEqual({
      content:
        'invalid regular expression for search: error parsing regexp: invalid or unsupported Perl syntax: `(?=`. search uses RE2 syntax, which has no lookahead, lookbehind or backreferences: search for a simpler pattern and read the file',
      isError: true,
    });
    expect((await search('(a)\\1')).content).toContain('no lookahead, lookbehind or backreferences');
    expect(await search('(')).toMatchObject({
      isError: true,
      content: expect.stringContaining('missing closing )'),
    });
  });
});

describe('the redactor (hole 1: what it knows)', () => {
  const token = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';

  test.each([0, 1, 2, 3, 4, 5])('finds the token in base64 of a blob with %i bytes before it', (prefix) => {
    const blob = Buffer.from(`${'x'.repeat(prefix)}${token}:tail`).toString('base64');
    const redacted = new Redactor([token]).redact(`header ${blob} end`);
    expect(redacted).toContain('[REDACTED]');
    expect(redacted).not.toContain(base64Fragments(token)[prefix % 3]!);
  });

  test('the auth header a push builds, base64url, and URL-encoding are caught; short values are not secrets', () => {
    const r = new Redactor([token, 'key/with+special=chars&more', 'short']);
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    expect(r.redact(header)).toMatch(/^AUTHORIZATION: basic \S*\[REDACTED\]\S*$/);
    const url = Buffer.from(`..${token}`).toString('base64url');
    expect(r.redact(url)).toContain('[REDACTED]');
    expect(r.redact(`q=${encodeURIComponent('key/with+special=chars&more')}`)).toBe('q=[REDACTED]');
    expect(r.redact('q=key%2fwith%2bspecial%3dchars%26more')).toBe('q=[REDACTED]');
    expect(r.redact('a short word')).toBe('a short word');
    expect(secretForms(token)).toContain(token);
  });

  test('values the configuration names by environment variable', () => {
    expect(configuredSecrets(['DB_PASSWORD', 'MISSING'], { DB_PASSWORD: 'hunter2hunter2' })).toEqual([
      'hunter2hunter2',
    ]);
  });
});
