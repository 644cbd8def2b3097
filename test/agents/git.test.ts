import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pushBranch } from '../../src/agents/git.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { git, runScript, tempDir } from '../helpers.js';

const HOOKS = [
  'pre-commit',
  'post-commit',
  'commit-msg',
  'post-checkout',
  'pre-push',
  'reference-transaction',
];

/** A repository whose hooks and fsmonitor would each leave a marker file if anything ran them. */
function boobyTrappedRepo() {
  const marks = tempDir('dwf-marks-');
  const repo = tempDir('dwf-trapped-');
  writeFileSync(join(repo, 'a.txt'), 'alpha\n');
  git(repo, 'init', '-q', '--initial-branch=main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const hook = (name: string) => `#!/bin/sh\ntouch "${marks}/${name}"\n`;
  for (const name of HOOKS) {
    const file = join(repo, '.git', 'hooks', name);
    writeFileSync(file, hook(name));
    chmodSync(file, 0o755);
  }
  const fsmonitor = join(repo, '.git', 'fsmonitor.sh');
  writeFileSync(fsmonitor, hook('fsmonitor'));
  chmodSync(fsmonitor, 0o755);
  git(repo, 'config', 'core.fsmonitor', fsmonitor);
  const remote = tempDir('dwf-remote-');
  git(remote, 'init', '-q', '--bare', '--initial-branch=main');
  git(repo, 'remote', 'add', 'origin', remote);
  return { repo, remote, marks };
}

const ran = (marks: string) => readdirSync(marks).sort();

describe('git commands the product runs', () => {
  test('the trap works: plain git runs the hooks and the fsmonitor', () => {
    const { repo, marks } = boobyTrappedRepo();
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'plain');
    git(repo, 'status', '--short');
    expect(ran(marks)).toEqual(
      expect.arrayContaining([
        'commit-msg',
        'fsmonitor',
        'post-commit',
        'pre-commit',
        'reference-transaction',
      ]),
    );
  });

  test("a run's worktree, commit and push run no hook and no fsmonitor of the repository", async () => {
    const { repo, remote, marks } = boobyTrappedRepo();
    const provider = createFixtureProvider('f.json', {
      rules: [
        {
          match: { label: '^edit$' },
          steps: [
            [{ tool: 'edit_file', input: { path: 'a.txt', old_string: 'alpha', new_string: 'ALPHA' } }],
          ],
          text: 'edited',
        },
      ],
    });
    const { summary } = await runScript(`return await agent('edit a.txt', { label: 'edit' });`, {
      provider,
      workspace: { repoDir: repo },
    });
    expect(summary.status).toBe('completed');
    expect(summary.branch).toBe(`dwf/${summary.runId}`);
    await pushBranch({
      cwd: repo,
      serverUrl: 'https://github.example',
      token: 'ghs_pushToken0123456789',
      branch: summary.branch!,
    });
    expect(git(remote, 'show', `${summary.branch}:a.txt`)).toBe('ALPHA');
    expect(ran(marks)).toEqual([]);
  });

  test('the push token reaches git through its environment only, never its arguments', async () => {
    const { repo, marks } = boobyTrappedRepo();
    git(repo, 'branch', 'topic');
    // Plain git (the test's own) ran the reference-transaction hook: start counting from here.
    for (const mark of ran(marks)) rmSync(join(marks, mark));
    const spy = tempDir('dwf-git-spy-');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(spy, 'git'),
      `#!/bin/sh\nprintf '%s\\n' "$@" >> "${spy}/argv"\nenv >> "${spy}/env"\nexec ${realGit} "$@"\n`,
    );
    chmodSync(join(spy, 'git'), 0o755);
    const token = 'ghs_spiedPushToken0123456789';
    const path = process.env.PATH;
    process.env.PATH = `${spy}:${path}`;
    try {
      await pushBranch({ cwd: repo, serverUrl: 'https://github.example/', token, branch: 'topic' });
    } finally {
      process.env.PATH = path;
    }
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const argv = readFileSync(join(spy, 'argv'), 'utf8');
    expect(argv).toBe('push\n--no-verify\norigin\nrefs/heads/topic:refs/heads/topic\n');
    const env = readFileSync(join(spy, 'env'), 'utf8');
    // An empty value first drops any header the checkout persisted; then the job's own.
    expect(env).toMatch(/GIT_CONFIG_KEY_(\d)=http\.https:\/\/github\.example\/\.extraheader\n/);
    expect(env).toContain(`=AUTHORIZATION: basic ${basic}\n`);
    expect(env).toContain('GIT_CONFIG_NOSYSTEM=1\n');
    expect(env).toContain('GIT_CONFIG_GLOBAL=/dev/null\n');
    expect(env).toContain('GIT_CONFIG_KEY_0=core.hooksPath\n');
    expect(env).toMatch(/GIT_CONFIG_VALUE_0=\/\S*dwf-git-empty-/);
    expect(env).toContain('GIT_CONFIG_KEY_1=core.fsmonitor\n');
    expect(env).toContain('GIT_CONFIG_VALUE_1=false\n');
    expect(ran(marks)).toEqual([]);
  });

  test("a failed push says why without the token; git's own message is kept", async () => {
    const { repo } = boobyTrappedRepo();
    const token = 'ghs_failingPushToken0123456789';
    const error = await pushBranch({
      cwd: repo,
      serverUrl: 'https://github.example',
      token,
      branch: 'no-such-branch',
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/^git push failed \(exit \d+\): error: src refspec/);
    expect(error?.message).not.toContain(token);
  });
});
