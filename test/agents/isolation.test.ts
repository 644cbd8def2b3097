import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createRepoCodeRunner,
  DEFAULT_LIMITS,
  type RepoCodeRunner,
  SANDBOX_USER,
  sandboxSteps,
} from '../../src/agents/isolation.js';
import { Redactor } from '../../src/agents/secrets.js';
import { type CommandRecord, runTool } from '../../src/agents/tools.js';
import { Workspace } from '../../src/agents/workspace.js';
import { assessRepository } from '../../src/plan/assess.js';
import { git, gitRepoWith, runScript, tempDir } from '../helpers.js';

const TOKEN = 'ghs_isolationProbeToken0123456789';
const KEY = 'sk-ant-isolation-probe-key-0123456789';

/** A directory on the root file system, outside every directory the sandbox hides. */
function visibleDir(): string {
  return mkdtempSync('/var/lib/dwf-test-');
}

const cleanup: string[] = [];
let runner: RepoCodeRunner;

beforeAll(async () => {
  // The runner's own environment holds the secrets, as the action's does.
  process.env.GITHUB_TOKEN = TOKEN;
  process.env.ANTHROPIC_API_KEY = KEY;
  runner = await createRepoCodeRunner({ isolation: 'required' });
});

afterAll(() => {
  delete process.env.GITHUB_TOKEN;
  delete process.env.ANTHROPIC_API_KEY;
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

const limits = (cwd: string, timeoutMs = 20_000) => ({ cwd, timeoutMs, maxOutputBytes: 256 * 1024 });

/** The runner a run makes for its repository: the only one whose git directory the sandbox is shown. */
/** sudo is on this machine (`.ci/run` installs it): the tests that need it are skipped elsewhere. */
const hasSudo = spawnSync('sudo', ['--version']).status === 0;

const runnerFor = (repoDir: string, hide: string[] = []) =>
  createRepoCodeRunner({ isolation: 'required', repoDir, hide });

describe('the isolated runner (as root, as CI runs)', () => {
  test('is what this machine gives: a separate unprivileged user', () => {
    expect(process.getuid?.()).toBe(0);
    expect(runner.isolated).toBe(true);
    expect(runner.description).toMatch(
      /^repository code runs isolated: as user dwf-sandbox \(uid \d+\) without sudo/,
    );
    const uid = Number(execFileSync('id', ['-u', SANDBOX_USER], { encoding: 'utf8' }).trim());
    expect(uid).toBeGreaterThan(0);
  });

  test('the probe: no other process, no secret in any environ, no sudo, .git read-only, the host HOME hidden', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const hostHomeFile = join(homedir(), `dwf-probe-${process.pid}.txt`);
    writeFileSync(hostHomeFile, `home secret ${TOKEN}\n`);
    cleanup.push(hostHomeFile);
    const probe = [
      'echo "uid=$(id -u)"',
      'echo "processes=$(ls /proc | grep -cE "^[0-9]+$")"',
      `test -e /proc/${process.pid} && echo HOST-PID-VISIBLE || echo HOST-PID-INVISIBLE`,
      'for f in /proc/[0-9]*/environ; do cat "$f" | tr "\\000" "\\n"; done',
      'grep -E "^(NoNewPrivs|CapEff|CapBnd)" /proc/self/status',
      'sudo -n true 2>/dev/null && echo SUDO-OK || echo SUDO-REFUSED',
      'echo "touch /tmp/pwned" > .git/hooks/pre-push 2>/dev/null && echo HOOK-WRITTEN || echo HOOK-REFUSED',
      'git config core.hooksPath /tmp 2>/dev/null && echo CONFIG-WRITTEN || echo CONFIG-REFUSED',
      `cat ${hostHomeFile} 2>/dev/null && echo HOME-READ || echo HOME-HIDDEN`,
      'ls -A /root | wc -l | sed "s/^/root-entries=/"',
      'echo "home=$HOME tmp=$TMPDIR"',
      'env | cut -d= -f1 | sort | tr "\\n" " "',
    ].join('\n');
    const result = await (await runnerFor(repo)).run({ shell: probe }, limits(repo));
    const out = result.output;
    expect(out).toContain(`uid=${execFileSync('id', ['-u', SANDBOX_USER], { encoding: 'utf8' }).trim()}`);
    // Only the sandbox's own few processes exist for it.
    expect(Number(/processes=(\d+)/.exec(out)?.[1])).toBeLessThanOrEqual(6);
    expect(out).toContain('HOST-PID-INVISIBLE');
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/CapEff:\s+0+\n/);
    expect(out).toMatch(/CapBnd:\s+0+\n/);
    expect(out).toContain('SUDO-REFUSED');
    expect(out).toContain('HOOK-REFUSED');
    expect(out).toContain('CONFIG-REFUSED');
    expect(out).toContain('HOME-HIDDEN');
    expect(out).toContain('root-entries=0');
    expect(out).toContain('home=/home/dwf-sandbox tmp=/tmp');
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(KEY);
    const names = /\n((?:[A-Z_][A-Z0-9_]* )+)$/.exec(`${out.trimEnd()} `)?.[1]?.trim().split(' ') ?? [];
    const allowed = new Set(
      'CI FORCE_COLOR GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0 GIT_TERMINAL_PROMPT HOME LANG LC_ALL LC_CTYPE LOGNAME NO_COLOR PATH PWD SHLVL TERM TMPDIR TZ USER _'.split(
        ' ',
      ),
    );
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !allowed.has(n))).toEqual([]);
    // Nothing reached the real repository.
    expect(existsSync(join(repo, '.git', 'hooks', 'pre-push'))).toBe(false);
    expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).not.toContain('hooksPath');
  }, 30_000);

  test('a setuid program (how sudo raises privileges) does not raise it: no-new-privs', async () => {
    const dir = visibleDir();
    cleanup.push(dir);
    chmodSync(dir, 0o755);
    const suid = join(dir, 'id');
    copyFileSync('/usr/bin/id', suid);
    chmodSync(suid, 0o4755);
    // The control: the same program raises an ordinary unprivileged process to root.
    const control = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', suid, '-u'], {
      encoding: 'utf8',
    });
    expect(control.stdout.trim()).toBe('0');
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    const inside = await runner.run({ argv: [suid, '-u'] }, limits(repo));
    expect(inside.exitCode).toBe(0);
    expect(inside.output.trim()).toBe(execFileSync('id', ['-u', SANDBOX_USER], { encoding: 'utf8' }).trim());
  });

  // The worst runner: sudo installed and the sandbox's user allowed everything without a password.
  // `.ci/run` installs sudo; a machine without it has nothing to prove here.
  test.skipIf(!hasSudo)(
    'sudo with a NOPASSWD grant for its own user still cannot raise it',
    async () => {
      const user = 'dwf-sudo-probe';
      const probeRunner = await createRepoCodeRunner({ isolation: 'required', user });
      expect(probeRunner.isolated).toBe(true);
      const sudoers = `/etc/sudoers.d/${user}`;
      writeFileSync(sudoers, `${user} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
      cleanup.push(sudoers);
      const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
      // The control: outside the sandbox the grant makes that user root.
      const control = spawnSync(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sudo', '-n', 'id', '-u'],
        { encoding: 'utf8' },
      );
      expect(control.stdout.trim()).toBe('0');
      const repo = gitRepoWith({ 'a.txt': 'a\n' });
      const inside = await probeRunner.run({ shell: 'sudo -n id -u; echo "exit=$?"; id -u' }, limits(repo));
      expect(inside.output).toContain('exit=1');
      expect(inside.output.trim().endsWith(`\n${uid}`)).toBe(true);
      expect(inside.output).not.toMatch(/^0$/m);
    },
    30_000,
  );

  test("writes go to a throwaway copy at the tree's own path; git works in it, with the checkout's credentials stripped", async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
    git(repo, 'config', 'http.https://github.com/.extraheader', header);
    git(repo, 'remote', 'add', 'origin', `https://x-access-token:${TOKEN}@github.com/o/r.git`);
    const result = await (await runnerFor(repo)).run(
      {
        shell:
          'pwd; echo beta > a.txt; echo new > b.txt; mkdir -p cache && echo c > cache/x; git status --short; git diff --stat; git config --list; cat .git/config',
      },
      limits(repo),
    );
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(`${repo}\n`);
    expect(result.output).toContain(' M a.txt\n?? b.txt\n?? cache/');
    expect(result.output).toContain('a.txt | 2 +-');
    expect(result.output).toContain('remote.origin.url=https://github.com/o/r.git');
    expect(result.output).not.toContain(TOKEN);
    expect(result.output).not.toContain(header.slice(-20));
    expect(result.output.toLowerCase()).not.toContain('extraheader');
    // The host tree is as it was; the repository's own configuration too.
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(existsSync(join(repo, 'b.txt'))).toBe(false);
    expect(existsSync(join(repo, 'cache'))).toBe(false);
    expect(git(repo, 'config', 'http.https://github.com/.extraheader')).toBe(header);
  });

  test('allowed commands cannot reach outside through their arguments (git diff --no-index, --output=)', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const hiddenSecret = join(tempDir(), 'secret.txt');
    writeFileSync(hiddenSecret, `secret in a temp dir ${TOKEN}\n`);
    const guarded = visibleDir();
    cleanup.push(guarded);
    chmodSync(guarded, 0o755);
    const rootOnly = join(guarded, 'root-only.txt');
    writeFileSync(rootOnly, `root only ${KEY}\n`, { mode: 0o600 });
    const outsideTemp = join(tempDir(), 'written.txt');
    const outsideVisible = join(guarded, 'written.txt');
    const commands: CommandRecord[] = [];
    const env = {
      root: repo,
      agentIndex: 0,
      workspace: new Workspace({ repoDir: repo, runDir: tempDir(), runId: 'r1' }),
      redactor: new Redactor([]),
      runner,
      allowedCommands: ['git diff'],
      commandTimeoutMs: 20_000,
      signal: new AbortController().signal,
      onCommand: (r: CommandRecord) => commands.push(r),
    };
    const call = (command: string) => runTool({ id: 't', name: 'run_command', input: { command } }, env);
    const reads = await Promise.all([
      call(`git diff --no-index /dev/null ${hiddenSecret}`),
      call(`git diff --no-index /dev/null ${rootOnly}`),
      call(`git diff --no-index /dev/null ${join(homedir(), '.bash_history')}`),
    ]);
    for (const read of reads) {
      expect(read.isError).toBe(true);
      expect(read.content).not.toContain(TOKEN);
      expect(read.content).not.toContain(KEY);
    }
    expect(reads[0]!.content).toMatch(/Could not access|No such file/);
    expect(reads[1]!.content).toMatch(/Permission denied|Could not access|could not open/i);
    const writes = await Promise.all([
      call(`git diff --no-index --output=${outsideTemp} /dev/null a.txt`),
      call(`git diff --no-index --output=${outsideVisible} /dev/null a.txt`),
    ]);
    expect(writes[1]!.content).toMatch(/Permission denied|could not open/i);
    expect(existsSync(outsideTemp)).toBe(false);
    expect(existsSync(outsideVisible)).toBe(false);
    expect(commands).toHaveLength(5);
  });

  test('a timeout kills the whole process tree, background children included', async () => {
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    const started = performance.now();
    const result = await runner.run(
      { shell: 'sleep 387 & sleep 388 & (setsid sleep 389 &) ; echo started; wait' },
      limits(repo, 1500),
    );
    expect(result.timedOut).toBe(true);
    expect(result.output).toContain('started');
    expect(result.output).toContain('[stopped after 1500 ms]');
    expect(performance.now() - started).toBeLessThan(6000);
    await new Promise((r) => setTimeout(r, 300));
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /^sleep 38[789]$/.test(line.trim()));
    expect(left).toEqual([]);
  });

  test('an abort stops it at once', async () => {
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 500);
    const started = performance.now();
    const result = await runner.run({ shell: 'sleep 391' }, { ...limits(repo), signal: stop.signal });
    expect(result.exitCode).not.toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() === 'sleep 391');
    expect(left).toEqual([]);
  });

  test('a worktree in a hidden directory: its copy shows at its path, the common .git read-only beside it', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    const worktree = join(realpathSync(tempDir()), 'runs', 'r1', 'workspace');
    git(repo, 'worktree', 'add', '-q', '-b', 'dwf/r1', worktree);
    writeFileSync(join(worktree, 'a.txt'), 'changed by an agent\n');
    const result = await (await runnerFor(repo)).run(
      {
        shell: `git status --short; cat a.txt; ls ${join(worktree, '..')}; echo x > "$(git rev-parse --git-common-dir)/hooks/pre-commit" 2>&1 || echo COMMON-REFUSED`,
      },
      limits(worktree),
    );
    expect(result.output).toContain(' M a.txt\nchanged by an agent\nworkspace\n');
    expect(result.output).toContain('COMMON-REFUSED');
    expect(existsSync(join(repo, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });

  test('F2: credentials in submodule and worktree configs (checkout with persist-credentials + submodules) never reach the sandbox', async () => {
    const file = ['-c', 'protocol.file.allow=always'];
    const inner = gitRepoWith({ 'i.txt': 'inner\n' });
    const lib = gitRepoWith({ 's.txt': 'lib\n' });
    git(lib, ...file, 'submodule', 'add', '-q', inner, 'inner');
    git(lib, 'commit', '-q', '-m', 'inner');
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    git(repo, ...file, 'submodule', 'add', '-q', lib, 'lib');
    git(repo, ...file, 'submodule', 'update', '--init', '--recursive', '-q');
    git(repo, 'commit', '-q', '-m', 'submodule');
    git(repo, 'config', 'extensions.worktreeConfig', 'true');
    const worktree = join(realpathSync(tempDir()), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'other', worktree);
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
    const configs = [
      join(repo, '.git', 'config'),
      join(repo, '.git', 'modules', 'lib', 'config'),
      join(repo, '.git', 'modules', 'lib', 'modules', 'inner', 'config'),
      join(repo, '.git', 'worktrees', 'wt', 'config.worktree'),
    ];
    for (const config of configs)
      git(repo, 'config', '--file', config, 'http.https://github.com/.extraheader', header);
    // The control: every one of them holds the header, world-readable, on the host.
    expect(
      execFileSync('grep', ['-rlF', header, join(repo, '.git')], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .sort(),
    ).toEqual([...configs].sort());
    const served = await runnerFor(repo);
    const reveal = [
      'git submodule status --recursive',
      'echo "with-header=$(grep -rliF extraheader .git | wc -l)"',
      // Transformed, so no redactor downstream could catch it: reversed and base64-encoded.
      'cat .git/config .git/modules/lib/config .git/modules/lib/modules/inner/config | rev',
      'cat .git/modules/lib/config | base64 -w0; echo',
      'git -C lib/inner config --get-regexp extraheader || echo NO-HEADER',
      'stat -c "mode=%a owner=%U group=%G" .git/modules/lib/config',
    ].join('\n');
    const result = await served.run({ shell: reveal }, limits(repo));
    expect(result.exitCode).toBe(0);
    // git still works, submodules included.
    expect(result.output).toMatch(
      /^ [0-9a-f]{40} lib \(heads\/main\)\n [0-9a-f]{40} lib\/inner \(heads\/main\)$/m,
    );
    expect(result.output).toContain('with-header=0\n');
    expect(result.output).toContain('NO-HEADER');
    // The stripped copies: readable by the sandbox's group only, written by root, like the original for others.
    expect(result.output).toContain('mode=640 owner=root group=dwf-sandbox');
    const worktreeRun = await served.run(
      {
        shell:
          'git status --short --branch; git config --list --show-origin | grep -ci extraheader; cat "$(git rev-parse --git-dir)/config.worktree" | rev',
      },
      limits(worktree),
    );
    expect(worktreeRun.output).toMatch(/^## other\n0\n/);
    for (const out of [result.output, worktreeRun.output]) {
      const flat = out.replace(/\s/g, '');
      for (const secret of [TOKEN, header.slice(-24), Buffer.from(header).toString('base64').slice(8, 40)]) {
        expect(flat).not.toContain(secret);
        expect(flat).not.toContain([...secret].reverse().join(''));
      }
    }
    // The repository's own configuration is untouched.
    for (const config of configs) expect(readFileSync(config, 'utf8')).toContain(header);
  }, 30_000);

  test('credentials in section names ([url "https://TOKEN@host/"]) and in the machine\'s /etc/gitconfig are stripped too', async () => {
    const repo = gitRepoWith({ 'a.txt': 'alpha\n' });
    git(repo, 'config', `url.https://x-access-token:${TOKEN}@github.com/.insteadOf`, 'https://github.com/');
    git(repo, 'config', `http.https://${TOKEN}@github.com/.sslVerify`, 'true');
    // The machine's configuration: a CI step may write one there. Only an example.invalid rule, so
    // nothing else running now is affected; the file is put back as it was.
    const system = '/etc/gitconfig';
    const before = existsSync(system) ? readFileSync(system, 'utf8') : undefined;
    const rule = `[url "https://x-access-token:${KEY}@example.invalid/"]\n\tinsteadOf = https://example.invalid/\n`;
    writeFileSync(system, `${before ?? ''}${rule}`);
    try {
      const served = await runnerFor(repo);
      const result = await served.run(
        {
          shell: 'git config --list; git config --list | rev; cat .git/config /etc/gitconfig | rev',
        },
        limits(repo),
      );
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('url.https://github.com/.insteadof=https://github.com/');
      expect(result.output).toContain('url.https://example.invalid/.insteadof=https://example.invalid/');
      for (const secret of [TOKEN, KEY]) {
        expect(result.output).not.toContain(secret);
        expect(result.output).not.toContain([...secret].reverse().join(''));
      }
      // The originals are untouched.
      expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).toContain(TOKEN);
      expect(readFileSync(system, 'utf8')).toContain(KEY);
    } finally {
      if (before === undefined) rmSync(system, { force: true });
      else writeFileSync(system, before);
    }
  }, 30_000);

  test('F4: a .git file naming any other directory is not followed: nothing hidden comes back, git finds no repository', async () => {
    const served = gitRepoWith({ 'a.txt': 'served\n' });
    const runner4 = await runnerFor(served);
    // A directory under the hidden /root, shaped like a git directory, with a root-only config.
    const secretDir = mkdtempSync(join(homedir(), 'dwf-f4-'));
    cleanup.push(secretDir);
    chmodSync(secretDir, 0o755);
    writeFileSync(join(secretDir, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(secretDir, 'config'), `[core]\n\tsecretvalue = ${KEY}\n`, { mode: 0o600 });
    writeFileSync(join(secretDir, 'note'), `world-readable ${TOKEN}\n`, { mode: 0o644 });
    // Another real repository (not the one served), its config world-readable with a credential.
    const other = gitRepoWith({ 'o.txt': 'other\n' });
    git(other, 'config', 'http.extraheader', `AUTHORIZATION: basic ${TOKEN}`);
    for (const [name, target] of [
      ['to-hidden', secretDir],
      ['to-other-repo', join(other, '.git')],
      ['to-served-but-not-a-worktree', join(served, '.git', 'refs')],
    ] as const) {
      const tree = visibleDir();
      cleanup.push(tree);
      chmodSync(tree, 0o755);
      writeFileSync(join(tree, '.git'), `gitdir: ${target}\n`);
      const result = await runner4.run(
        {
          shell: `cat .git; ls -A ${target} 2>&1 | head -3; cat ${secretDir}/note 2>&1; git status 2>&1; git config --list 2>&1 | grep -ci -e secretvalue -e extraheader`,
        },
        limits(tree),
      );
      expect(result.output, name).toContain(`gitdir: ${target}\n`);
      expect(result.output, name).toMatch(/No such file or directory/);
      expect(result.output, name).toMatch(/fatal: not a git repository/);
      expect(result.output, name).not.toContain(TOKEN);
      expect(result.output, name).not.toContain(KEY);
    }
    // The served repository itself still works.
    const ok = await runner4.run({ shell: 'git log --oneline | wc -l' }, limits(served));
    expect(ok.output.trim()).toBe('1');
  }, 30_000);

  test('F1: a fork bomb and files filling /tmp, HOME and the copy end with the command failing, within its limits', async () => {
    // Its own user, so no other test's processes count against its small process limit.
    const user = 'dwf-limits-probe';
    const small = await createRepoCodeRunner({
      isolation: 'required',
      user,
      limits: { writableBytes: 32 * 1024 ** 2, processes: 40 },
    });
    expect(small.isolated).toBe(true);
    expect(small.description).toContain('32 MiB to write in each and at most 40 processes');
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    const fill = await small.run(
      {
        shell: [
          'for d in /tmp "$HOME" .; do dd if=/dev/zero of="$d/fill" bs=1M count=64 2>&1 | grep -o "No space left on device" | head -1 | sed "s#^#$d: #"; done',
          'df -B1M --output=target,size / /root /run /tmp "$HOME" . | tail -n +2 | tr -s " " | tr "\\n" ";"',
        ].join('\n'),
      },
      limits(repo),
    );
    expect(fill.output).toContain('/tmp: No space left on device');
    expect(fill.output).toContain('/home/dwf-limits-probe: No space left on device');
    expect(fill.output).toContain('.: No space left on device');
    // Hidden directories hold 16 MiB, the writable ones 32 MiB (the copy: what it holds plus 32 MiB).
    expect(fill.output).toMatch(/\/root 16;\/run 16;\/tmp 32;\/home 32;/);
    const started = performance.now();
    const bomb = await small.run(
      { shell: 'for i in $(seq 200); do sleep 393 & done; echo ALL-FORKED' },
      limits(repo, 5000),
    );
    expect(performance.now() - started).toBeLessThan(8000);
    expect(bomb.exitCode).not.toBe(0);
    expect(bomb.output).toMatch(/Cannot fork|Resource temporarily unavailable/);
    expect(bomb.output).not.toContain('ALL-FORKED');
    await new Promise((r) => setTimeout(r, 300));
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() === 'sleep 393');
    expect(left).toEqual([]);
  }, 30_000);

  test('F3: `dwf run` in a directory without git: earlier runs and files only their owner may read stay out of reach', async () => {
    const dir = visibleDir();
    cleanup.push(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'readable.txt'), 'for everyone\n', { mode: 0o644 });
    writeFileSync(join(dir, '.env'), `TOKEN=${TOKEN}\n`, { mode: 0o600 });
    mkdirSync(join(dir, 'private'), { mode: 0o700 });
    writeFileSync(join(dir, 'private', 'inside.txt'), `${KEY}\n`, { mode: 0o644 });
    const runsDir = join(dir, '.dwf', 'runs');
    mkdirSync(join(runsDir, 'earlier'), { recursive: true });
    writeFileSync(join(runsDir, 'earlier', 'events.jsonl'), `{"secret":"${KEY}"}\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, 'probe.sh'),
      'echo "readable=[$(cat readable.txt)] env=[$(cat .env 2>&1)] private=[$(cat private/inside.txt 2>&1)] dwf=[$(ls -A .dwf 2>&1)] writes=[$(echo x > new.txt && echo ok)]"\n',
    );
    const run = await runScript('return await oracle();', {
      runsDir,
      workspace: { repoDir: dir, oracle: { command: 'sh probe.sh', timeoutSeconds: 20 } },
    });
    const text = JSON.stringify(run.summary.result);
    expect(run.summary.status).toBe('completed');
    expect(text).toContain('readable=[for everyone]');
    expect(text).toMatch(/env=\[cat: \.env: Permission denied\]/);
    expect(text).toMatch(/private=\[cat: private\/inside\.txt: Permission denied\]/);
    expect(text).toMatch(/dwf=\[ls: cannot access '\.dwf': No such file or directory\]/);
    expect(text).toContain('writes=[ok]');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(KEY);
    // The host files are as they were.
    expect(existsSync(join(dir, 'new.txt'))).toBe(false);
  }, 30_000);

  test('F3: `dwf plan --baseline` in a repository: its .dwf runs, root-only files and hidden directories stay out of the copy', async () => {
    const repo = gitRepoWith({
      'probe.sh':
        'echo "env=[$(cat .env 2>&1)] dwf=[$(ls -A .dwf 2>&1)] git=[$(git status --short | tr "\\n" " ")]"\n',
    });
    chmodSync(repo, 0o755);
    writeFileSync(join(repo, '.env'), `TOKEN=${TOKEN}\n`, { mode: 0o600 });
    mkdirSync(join(repo, '.dwf', 'runs', 'r0'), { recursive: true });
    writeFileSync(join(repo, '.dwf', 'runs', 'r0', 'journal.jsonl'), `${KEY}\n`);
    const assessment = await assessRepository(repo, { baseline: true, oracle: 'sh probe.sh' });
    const summary = assessment.baseline?.summary ?? '';
    expect(assessment.baseline?.passed).toBe(true);
    expect(summary).toContain('env=[cat: .env: Permission denied]');
    expect(summary).toContain("dwf=[ls: cannot access '.dwf': No such file or directory]");
    expect(summary).toContain('git=[?? .env ]');
    expect(summary).not.toContain(TOKEN);
    expect(summary).not.toContain(KEY);
  }, 30_000);

  test('F10: /run is hidden (sockets, secrets) and /var/run with it', async () => {
    const planted = `/run/dwf-test-${process.pid}`;
    mkdirSync(planted, { recursive: true });
    cleanup.push(planted);
    writeFileSync(join(planted, 'token'), `${TOKEN}\n`, { mode: 0o644 });
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    const result = await runner.run(
      {
        shell: `ls -A /run | wc -l; ls -A /var/run/ | wc -l; cat ${planted}/token 2>&1; ls /var/run/secrets 2>&1`,
      },
      limits(repo),
    );
    expect(result.output).toMatch(/^0\n0\n/);
    expect(result.output).toContain('No such file or directory');
    expect(result.output).not.toContain(TOKEN);
  });

  test('the setup steps: sources held before the copy covers them, the hidden directory holding the stage moved last', () => {
    const steps = sandboxSteps({
      cwd: '/tmp/x/runs/r1/workspace',
      stage: '/tmp/s/setup',
      hidden: ['/tmp', '/home', '/run', '/tmp/x/runs'],
      git: {
        dotGit: { path: '/tmp/x/runs/r1/workspace/.git', kind: 'file' },
        dirs: ['/srv/repo/.git'],
        configs: [],
      },
      configs: [{ source: '/tmp/s/config-0', target: '/srv/repo/.git/config', mode: '640' }],
      home: '/home/dwf-sandbox',
      limits: { ...DEFAULT_LIMITS, writableBytes: 1000, writableFiles: 10, hiddenBytes: 5 },
    });
    const at = (...step: string[]) => {
      const i = steps.findIndex((_, k) => step.every((word, j) => steps[k + j] === word));
      expect(i, step.join(' ')).toBeGreaterThanOrEqual(0);
      return i;
    };
    const holdGit = at('robind', '/tmp/x/runs/r1/workspace/.git', '/tmp/s/setup/hold/0');
    const holdCommon = at('robind', '/srv/repo/.git', '/tmp/s/setup/hold/1');
    // The copy leaves out .git (mounted over it) and dwf's own .dwf, on a tmpfs of its own, capped once copied.
    const copy = at('copydir', '/tmp/x/runs/r1/workspace', '/tmp/s/setup/work', '2', '.dwf', '.git');
    expect(copy).toBeGreaterThan(Math.max(holdGit, holdCommon));
    expect(at('tmpfs', '/tmp/s/setup/work', '755', '1000', '10')).toBeLessThan(copy);
    expect(at('own', '/tmp/s/setup/work', 'limit', '/tmp/s/setup/work', '1000', '10')).toBeGreaterThan(copy);
    // The configuration is installed in the stage with its mode, then mounted over the original.
    const installed = at('config', '/tmp/s/config-0', '/tmp/s/setup/configs/0', '640');
    // /tmp/x/runs is inside /tmp: one empty file system for both, prepared beside the stage;
    // /tmp and /home (HOME) get room to write, /run only what mount points need.
    expect(steps.filter((s) => s === 'tmpfs')).toHaveLength(5);
    at('tmpfs', '/tmp/s/setup/hidden/0', '755', '1000', '10');
    at('tmpfs', '/tmp/s/setup/hidden/1', '755', '5', '4096');
    at('tmpfs', '/tmp/s/setup/hidden/2', '1777', '1000', '10');
    const work = at('bind', '/tmp/s/setup/work', '/tmp/s/setup/hidden/2/x/runs/r1/workspace');
    expect(
      at('robind', '/tmp/s/setup/hold/0', '/tmp/s/setup/hidden/2/x/runs/r1/workspace/.git'),
    ).toBeGreaterThan(work);
    expect(at('robind', '/srv/repo/.git', '/tmp/s/setup/hold/1')).toBeLessThan(
      at('robind', '/tmp/s/setup/hold/1', '/srv/repo/.git'),
    );
    expect(at('robind', '/tmp/s/setup/configs/0', '/srv/repo/.git/config')).toBeGreaterThan(
      Math.max(installed, at('robind', '/tmp/s/setup/hold/1', '/srv/repo/.git')),
    );
    at('home', '/tmp/s/setup/hidden/0/dwf-sandbox');
    expect(steps.slice(-9)).toEqual([
      'move',
      '/tmp/s/setup/hidden/0',
      '/home',
      'move',
      '/tmp/s/setup/hidden/1',
      '/run',
      'move',
      '/tmp/s/setup/hidden/2',
      '/tmp',
    ]);
  });

  test('the copy leaves out the run directory and every hidden directory inside the tree, level by level; a revealed directory shows through', () => {
    const tree = visibleDir();
    const other = visibleDir();
    cleanup.push(tree, other);
    for (const dir of ['.dwf/runs/r0', 'build/cache/deep', 'build/out', 'src'])
      mkdirSync(join(tree, dir), { recursive: true });
    mkdirSync(join(other, 'systemd', 'resolve'), { recursive: true });
    const steps = sandboxSteps({
      cwd: tree,
      stage: '/tmp/s/setup',
      hidden: [join(tree, '.dwf', 'runs'), join(tree, 'build', 'cache'), tree, other],
      // Like /run/systemd/resolve inside /run (where /etc/resolv.conf points on Ubuntu).
      revealed: [join(other, 'systemd', 'resolve')],
      git: { dirs: [], configs: [] },
      configs: [],
      home: '/home/dwf-sandbox',
      limits: DEFAULT_LIMITS,
    });
    const copies = steps
      .map((s, i) => (s === 'copydir' ? steps.slice(i + 1, i + 4 + Number(steps[i + 3])) : undefined))
      .filter((c) => c !== undefined);
    expect(copies).toEqual([
      [tree, '/tmp/s/setup/work', '2', '.dwf', 'build'],
      [join(tree, 'build'), '/tmp/s/setup/work/build', '1', 'cache'],
    ]);
    const hold = steps.indexOf(join(other, 'systemd', 'resolve'));
    expect(steps.slice(hold - 1, hold + 2)).toEqual([
      'robind',
      join(other, 'systemd', 'resolve'),
      '/tmp/s/setup/hold/0',
    ]);
    const shown = steps.lastIndexOf('/tmp/s/setup/hidden/0/systemd/resolve');
    expect(steps.slice(shown - 2, shown + 1)).toEqual([
      'robind',
      '/tmp/s/setup/hold/0',
      '/tmp/s/setup/hidden/0/systemd/resolve',
    ]);
    expect(shown).toBeGreaterThan(hold);
    expect(steps.slice(-3)).toEqual(['move', '/tmp/s/setup/hidden/0', other]);
  });
});

describe("as on GitHub's hosted runners: not root, passwordless sudo", () => {
  test.skipIf(!hasSudo)(
    'the runner sets the sandbox up through sudo: isolated, no secret of its own process visible, timeouts kill the tree',
    async () => {
      const user = 'dwf-runner-probe';
      if (spawnSync('id', [user]).status !== 0)
        execFileSync('useradd', ['--system', '--user-group', '--create-home', user]);
      const sudoers = `/etc/sudoers.d/${user}`;
      writeFileSync(sudoers, `${user} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
      cleanup.push(sudoers);
      const dir = visibleDir();
      cleanup.push(dir);
      chmodSync(dir, 0o755);
      const repo = join(dir, 'repo');
      mkdirSync(repo);
      writeFileSync(join(repo, 'a.txt'), 'alpha\n');
      chmodSync(join(repo, 'a.txt'), 0o644);
      await build({
        stdin: {
          contents: `import { createRepoCodeRunner } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'agents', 'isolation.ts'))};
const runner = await createRepoCodeRunner({ isolation: 'required' });
const limits = (timeoutMs) => ({ cwd: ${JSON.stringify(repo)}, timeoutMs, maxOutputBytes: 64 * 1024 });
const probe = await runner.run({ shell: 'id -un; cat a.txt; for f in /proc/[0-9]*/environ; do tr "\\\\000" "\\\\n" < "$f"; done; sudo -n true 2>/dev/null && echo SUDO-OK || echo SUDO-REFUSED' }, limits(20000));
const started = Date.now();
const slow = await runner.run({ shell: 'sleep 60 & sleep 60' }, limits(1000));
console.log(JSON.stringify({ isolated: runner.isolated, description: runner.description, probe: probe.output, slow: { timedOut: slow.timedOut, ms: Date.now() - started } }));`,
          resolveDir: dir,
          loader: 'ts',
        },
        outfile: join(dir, 'probe.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        logLevel: 'silent',
      });
      const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
      const child = spawnSync(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${uid}`, '--init-groups', process.execPath, join(dir, 'probe.mjs')],
        {
          encoding: 'utf8',
          // The runner's own process holds the job's secrets, as the action's does.
          env: { PATH: process.env.PATH, HOME: `/home/${user}`, GITHUB_TOKEN: TOKEN, ANTHROPIC_API_KEY: KEY },
          cwd: '/',
          timeout: 60_000,
        },
      );
      expect(child.stderr).toBe('');
      const seen = JSON.parse(child.stdout) as {
        isolated: boolean;
        description: string;
        probe: string;
        slow: { timedOut: boolean; ms: number };
      };
      expect(seen.isolated).toBe(true);
      expect(seen.description).toMatch(/\(set up through sudo\)$/);
      expect(seen.probe).toMatch(/^dwf-sandbox\nalpha\n/);
      expect(seen.probe).toContain('SUDO-REFUSED');
      // Every environ the sandbox can see was printed: its own, not the runner's.
      expect(seen.probe).toContain('LOGNAME=dwf-sandbox');
      expect(seen.probe).not.toContain(TOKEN);
      expect(seen.probe).not.toContain(KEY);
      expect(seen.slow.timedOut).toBe(true);
      expect(seen.slow.ms).toBeLessThan(15_000);
      // Nothing the timed-out command started is still running.
      const sandboxUid = execFileSync('id', ['-u', SANDBOX_USER], { encoding: 'utf8' }).trim();
      expect(spawnSync('pgrep', ['-u', sandboxUid, '-f', 'sleep 60']).status).toBe(1);
    },
    90_000,
  );
});

describe('without isolation', () => {
  test('a process that is not root and may not sudo gets a runner that refuses, naming the opt-out', async () => {
    const dir = visibleDir();
    cleanup.push(dir);
    chmodSync(dir, 0o755);
    await build({
      stdin: {
        contents: `import { createRepoCodeRunner } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'agents', 'isolation.ts'))};
const runner = await createRepoCodeRunner({ isolation: 'required' });
const outcome = await runner.run({ shell: 'echo RAN' }, { cwd: '/', timeoutMs: 5000, maxOutputBytes: 1000 }).then((r) => r.output, (e) => 'ERROR ' + e.message);
console.log(JSON.stringify({ isolated: runner.isolated, description: runner.description, outcome }));`,
        resolveDir: dir,
        loader: 'ts',
      },
      outfile: join(dir, 'probe.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
    });
    const child = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(dir, 'probe.mjs')],
      { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' }, cwd: '/' },
    );
    const seen = JSON.parse(child.stdout) as { isolated: boolean; description: string; outcome: string };
    expect(seen.isolated).toBe(false);
    expect(seen.description).toMatch(/^repository code will be refused: isolation cannot be set up here \(/);
    expect(seen.description).toContain('set `isolation: off` or pass --no-isolation');
    expect(seen.outcome).toMatch(
      /^ERROR refused to run repository code: it runs only isolated .* isolation cannot be set up here: this process is not root, and `sudo -n` is not allowed: sudo is missing or wants a password\. To run it unisolated anyway, .*set `isolation: off` in \.github\/dynamic-workflows\.yml, or pass --no-isolation to dwf$/,
    );
    expect(seen.outcome).not.toContain('RAN');
  }, 30_000);

  test('a run refuses the test command, says so in its log, and fails with the way out; `off` runs it and says it is unisolated', async () => {
    const repo = gitRepoWith({ 'a.txt': 'a\n' });
    // No unshare on this PATH: the same refusal as on a machine without util-linux.
    const refusing = await createRepoCodeRunner({ isolation: 'required', env: { PATH: '/nonexistent' } });
    expect(refusing.isolated).toBe(false);
    const refused = await runScript('return await oracle();', {
      runner: refusing,
      workspace: { repoDir: repo, oracle: { command: 'touch ran', timeoutSeconds: 10 } },
    });
    expect(refused.summary.status).toBe('failed');
    expect(refused.summary.error).toMatch(/refused to run repository code: .*unshare, setpriv.* not found/);
    expect(refused.summary.error).toContain('isolation: off');
    expect(refused.logged).toContainEqual(
      expect.objectContaining({
        type: 'log',
        message: expect.stringMatching(/^repository code will be refused/),
      }),
    );
    expect(existsSync(join(repo, 'ran'))).toBe(false);

    const off = await runScript('return await oracle();', {
      isolation: 'off',
      workspace: { repoDir: repo, oracle: { command: 'echo "$(id -u)"', timeoutSeconds: 10 } },
    });
    expect(off.summary.status).toBe('completed');
    expect(off.logged).toContainEqual(
      expect.objectContaining({
        type: 'log',
        message: expect.stringMatching(/^repository code runs UNISOLATED \(isolation: off\)/),
      }),
    );
    const isolated = await runScript('return await oracle();', {
      workspace: { repoDir: repo, oracle: { command: 'true', timeoutSeconds: 10 } },
    });
    expect(isolated.logged).toContainEqual(
      expect.objectContaining({
        type: 'log',
        message: expect.stringMatching(/^repository code runs isolated/),
      }),
    );
  }, 30_000);
});
