import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { reportAndCommitWith } from '../../src/flows/finish.js';
import { createFixtureProvider, type FixtureRule } from '../../src/models/fixture.js';
import { git, gitRepoWith, runScript, tempDir } from '../helpers.js';

const edit = (label: string, path: string, from: string, to: string): FixtureRule => ({
  match: { label: `^${label}$` },
  steps: [[{ tool: 'edit_file', input: { path, old_string: from, new_string: to } }]],
  text: `edited ${path}`,
});

function ofType<T extends RunEvent['type']>(events: RunEvent[], type: T) {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

describe('the run workspace', () => {
  test("agents work in a worktree; the run ends as one branch with the changes and the report; the user's checkout is untouched", async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    const head = git(repo, 'rev-parse', 'HEAD');
    const provider = createFixtureProvider('f.json', {
      rules: [edit('one', 'a.txt', 'alpha', 'ALPHA'), edit('two', 'b.txt', 'beta', 'BETA')],
    });
    const { summary } = await runScript(
      `return await parallel([() => agent('a', { label: 'one' }), () => agent('b', { label: 'two' })]);`,
      { provider, workspace: { repoDir: repo } },
    );
    expect(summary.status).toBe('completed');
    expect(summary.branch).toBe(`dwf/${summary.runId}`);
    // The checkout is as it was.
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('alpha\n');
    // The branch holds both changes and nothing else, one commit on top of the base; the report is
    // in the run directory (and becomes the pull request's body).
    expect(git(repo, 'rev-parse', `${summary.branch}~1`)).toBe(head);
    expect(git(repo, 'show', `${summary.branch}:a.txt`)).toBe('ALPHA');
    expect(git(repo, 'show', `${summary.branch}:b.txt`)).toBe('BETA');
    expect(git(repo, 'diff', '--name-only', `main..${summary.branch}`).split('\n')).toEqual([
      'a.txt',
      'b.txt',
    ]);
    const report = readFileSync(summary.reportPath, 'utf8');
    expect(report).toContain('| `a.txt` | #0 one |');
    expect(report).toContain('2 files changed');
    expect(git(repo, 'worktree', 'list')).not.toContain(summary.runId);
    const changes = JSON.parse(readFileSync(join(summary.runDir, 'changes.json'), 'utf8'));
    expect(changes).toMatchObject({
      branch: summary.branch,
      base: head,
      files: ['a.txt', 'b.txt'],
      byAgent: { 'a.txt': [0], 'b.txt': [1] },
    });
  });

  test('a run that changes nothing leaves no branch and no worktree', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const provider = createFixtureProvider('f.json', {
      rules: [{ match: {}, steps: [[{ tool: 'read_file', input: { path: 'a.txt' } }]], text: 'looked' }],
    });
    const { summary } = await runScript(`return await agent('look');`, {
      provider,
      workspace: { repoDir: repo },
    });
    expect(summary.result).toBe('looked');
    expect(summary.branch).toBeUndefined();
    expect(git(repo, 'branch', '--list', 'dwf/*')).toBe('');
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  const FINDINGS_ONLY = `return { findings: [{ title: 'weak hash', file: 'a.txt', line: 1, severity: 'low', status: 'confirmed', evidence: 'md5' }] };`;

  test('findings without changes leave no branch: the report is in the run directory', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const { summary } = await runScript(FINDINGS_ONLY, { workspace: { repoDir: repo } });
    expect(summary.branch).toBeUndefined();
    expect(git(repo, 'branch', '--list', 'dwf/*')).toBe('');
    expect(readFileSync(summary.reportPath, 'utf8')).toContain('| confirmed | low | weak hash |');
  });

  test('with commitReport, findings without changes end on a branch holding the report', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const { summary } = await runScript(FINDINGS_ONLY, {
      workspace: { repoDir: repo },
      finish: reportAndCommitWith({ commitReport: true }),
    });
    expect(summary.branch).toBe(`dwf/${summary.runId}`);
    expect(git(repo, 'diff', '--name-only', `main..${summary.branch}`).split('\n')).toEqual([
      `.dynamic-workflows/${summary.runId}/report.md`,
      `.dynamic-workflows/${summary.runId}/usage.json`,
    ]);
    expect(git(repo, 'show', `${summary.branch}:.dynamic-workflows/${summary.runId}/report.md`)).toContain(
      '| confirmed | low | weak hash |',
    );
  });

  test('concurrent edits of one file in the shared workspace are serialised, so none is lost', async () => {
    const repo = gitRepoWith({ 'many.txt': Array.from({ length: 8 }, (_, i) => `line ${i}`).join('\n') });
    const provider = createFixtureProvider('f.json', {
      rules: Array.from({ length: 8 }, (_, i) => edit(`e${i}`, 'many.txt', `line ${i}`, `LINE ${i}`)),
    });
    const { summary } = await runScript(
      `return await parallel(Array.from({ length: 8 }, (_, i) => () => agent('edit ' + i, { label: 'e' + i })));`,
      { provider, workspace: { repoDir: repo } },
    );
    expect(git(repo, 'show', `${summary.branch}:many.txt`)).toBe(
      Array.from({ length: 8 }, (_, i) => `LINE ${i}`).join('\n'),
    );
  });
});

describe("isolation: 'worktree'", () => {
  test('each agent edits its own worktree; changes are merged back, unchanged worktrees removed, conflicts reported', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n', 'c.txt': 'gamma\n' });
    const provider = createFixtureProvider('f.json', {
      rules: [
        edit('first', 'a.txt', 'alpha', 'ALPHA'),
        edit('second', 'b.txt', 'beta', 'BETA'),
        {
          match: { label: '^idle$' },
          steps: [[{ tool: 'read_file', input: { path: 'c.txt' } }]],
          text: 'nothing to do',
        },
        { ...edit('clash', 'a.txt', 'alpha', 'alpha!'), latencyMs: 50 },
      ],
    });
    const { summary, logged } = await runScript(
      `const opts = (label) => ({ label, isolation: 'worktree' });
       await parallel([
         () => agent('a', opts('first')),
         () => agent('b', opts('second')),
         () => agent('c', opts('idle')),
       ]);
       return await agent('late edit of a stale copy', opts('clash'));`,
      { provider, workspace: { repoDir: repo } },
    );
    expect(summary.status).toBe('completed');
    expect(git(repo, 'show', `${summary.branch}:a.txt`)).toBe('ALPHA');
    expect(git(repo, 'show', `${summary.branch}:b.txt`)).toBe('BETA');
    expect(ofType(logged, 'changes.merged').map((e) => [e.index, e.files])).toEqual(
      expect.arrayContaining([
        [0, ['a.txt']],
        [1, ['b.txt']],
      ]),
    );
    // The clash agent started from the merged workspace, so its edit found no 'alpha' line to change.
    expect(ofType(logged, 'changes.conflict')).toEqual([]);
    expect(existsSync(join(summary.runDir, 'worktrees', 'agent-2'))).toBe(false);
  });

  test('an isolated agent whose change no longer applies is reported as a conflict, and the rest is kept', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    // Every turn takes 300 ms. slow reads first (its worktree is made then, at ~300 ms, from the
    // untouched workspace), edits at ~600 ms and is merged at ~900 ms; fast edits at once and is
    // merged at ~600 ms, in the middle: 300 ms of margin on both sides, whatever the machine's load.
    const slowRule = edit('slow', 'a.txt', 'alpha', 'from slow');
    const provider = createFixtureProvider('f.json', {
      rules: [
        {
          ...slowRule,
          steps: [[{ tool: 'read_file', input: { path: 'a.txt' } }], ...(slowRule.steps ?? [])],
          latencyMs: 300,
        },
        { ...edit('fast', 'a.txt', 'alpha', 'from fast'), latencyMs: 300 },
      ],
    });
    const { summary, logged } = await runScript(
      `return await parallel([
         () => agent('slow', { label: 'slow', isolation: 'worktree' }),
         () => agent('fast', { label: 'fast', isolation: 'worktree' }),
       ]);`,
      { provider, workspace: { repoDir: repo } },
    );
    expect(git(repo, 'show', `${summary.branch}:a.txt`)).toBe('from fast');
    const conflicts = ofType(logged, 'changes.conflict');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      index: 0,
      error: expect.stringContaining('could not merge the agent'),
    });
  });
});

describe('oracle()', () => {
  test('runs the test command in the workspace and returns its verdict; every command is in the event log', async () => {
    const repo = gitRepoWith({ 'check.js': "console.log('# pass 1\\n# fail 0');\n" });
    const { summary, logged } = await runScript(`return await oracle();`, {
      workspace: { repoDir: repo, oracle: { command: 'node check.js', timeoutSeconds: 30 } },
    });
    expect(summary.result).toEqual({
      passed: true,
      exitCode: 0,
      summary: '1 passed, 0 failed',
      durationMs: expect.any(Number),
    });
    expect(ofType(logged, 'command')).toMatchObject([
      { command: 'node check.js', exitCode: 0, source: 'oracle' },
    ]);
    expect(ofType(logged, 'oracle')).toMatchObject([{ passed: true, exitCode: 0 }]);
  });

  test('without a test command it says how to configure one', async () => {
    const { summary } = await runScript(`try { await oracle(); } catch (e) { return e.message; }`);
    expect(summary.result).toBe(
      'oracle(): no test command is configured for this run (dwf run --oracle "npm test")',
    );
  });
});

describe('resuming a run with a workspace', () => {
  test("starts from the earlier run's files: replayed agents' edits are kept, not redone", async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    const runsDir = tempDir();
    const provider = createFixtureProvider('f.json', {
      rules: [edit('first', 'a.txt', 'alpha', 'ALPHA'), edit('second', 'b.txt', 'beta', 'BETA')],
    });
    const one = await runScript(`return [await agent('a', { label: 'first' })];`, {
      provider,
      runsDir,
      workspace: { repoDir: repo },
    });
    const two = await runScript(
      `return [await agent('a', { label: 'first' }), await agent('b', { label: 'second' })];`,
      {
        provider,
        runsDir,
        resume: one.summary.runId,
        workspace: { repoDir: repo },
      },
    );
    expect(two.summary.result).toEqual(['edited a.txt', 'edited b.txt']);
    expect(ofType(two.logged, 'agent.finished').map((e) => e.replayed ?? false)).toEqual([true, false]);
    expect(git(repo, 'show', `${two.summary.branch}:a.txt`)).toBe('ALPHA');
    expect(git(repo, 'show', `${two.summary.branch}:b.txt`)).toBe('BETA');
  });
});
