import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { validateWorkflow } from '@action-validator/core';
import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { init } from '../../src/cli/init.js';
import { parseConfig } from '../../src/github/config.js';
import { DISPATCH_INPUTS } from '../../src/github/dispatch.js';
import { tempDir } from '../helpers.js';

// Issue 14: `dwf init` in a fresh repository, through the real binary (bin/dwf.js over dist/).

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'bin', 'dwf.js');
const HEAD = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const WORKFLOW = '.github/workflows/dynamic-workflows.yml';
const CONFIG = '.github/dynamic-workflows.yml';

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function dwf(args: string[], cwd: string): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A fresh git repository with one commit, as a user's would be. */
function freshRepository(): string {
  const dir = tempDir('dwf-init-');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '--quiet', '--initial-branch=main');
  writeFileSync(join(dir, 'README.md'), '# a project\n');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'init');
  return dir;
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: a workflow file is deep YAML that tests reach into
const workflowOf = (dir: string) => yaml.load(read(dir, WORKFLOW)) as Record<string, any>;

/** A copy of a set-up with one file changed, checked. */
async function checkBroken(dir: string, path: string, change: (text: string) => string): Promise<Exit> {
  const copy = tempDir('dwf-init-broken-');
  cpSync(dir, copy, { recursive: true });
  writeFileSync(join(copy, path), change(read(copy, path)));
  return await dwf(['init', '--check'], copy);
}

describe('dwf init in a fresh repository, without a terminal: flags only', () => {
  test('writes a valid workflow pinned to this commit and a valid configuration; --check agrees; three broken variants each get their fix', async () => {
    const dir = freshRepository();
    const exit = await dwf(
      ['init', '--no-app', '--budget-usd', '20', '--action-repo', 'example/dynamic-workflows'],
      dir,
    );
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain(`wrote ${WORKFLOW}`);
    expect(exit.stdout).toContain('gh secret set ANTHROPIC_API_KEY');
    expect(exit.stdout).toContain('comment `/workflow audit` on an issue');
    expect(exit.stdout).not.toContain('not right yet');

    // The workflow: GitHub's schema, the action pinned to this clone's HEAD, exactly the dispatch inputs, no schedule.
    const text = read(dir, WORKFLOW);
    expect(validateWorkflow(text).errors).toEqual([]);
    const workflow = workflowOf(dir);
    const uses = Object.values(workflow.jobs).flatMap((job) =>
      (job as { steps: Array<{ uses?: string }> }).steps.map((s) => s.uses),
    );
    expect(uses).toContain(`example/dynamic-workflows/action@${HEAD}`);
    expect(uses.some((u) => u?.includes('@v1'))).toBe(false);
    expect(Object.keys(workflow.on.workflow_dispatch.inputs).sort()).toEqual(DISPATCH_INPUTS);
    expect(Object.keys(workflow.on).sort()).toEqual(['issue_comment', 'issues', 'workflow_dispatch']);

    // The configuration: ours, with the schema for editors on its first line.
    const config = read(dir, CONFIG);
    expect(config.split('\n')[0]).toBe(
      `# yaml-language-server: $schema=https://raw.githubusercontent.com/example/dynamic-workflows/${HEAD}/schema/dynamic-workflows.schema.json`,
    );
    const parsed = parseConfig(yaml.load(config));
    expect(parsed.ok && parsed.config).toMatchObject({
      model: 'anthropic:claude-sonnet-5-5',
      budget: { usd: 20 },
    });
    expect(parsed.ok && parsed.config.sweep).toBeUndefined();

    const check = await dwf(['init', '--check'], dir);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("valid against GitHub's workflow schema");

    // 1. An input the app sends is missing.
    const input = await checkBroken(dir, WORKFLOW, (t) => t.replace(/ {6}script_sha256:\n(?: {8}.*\n)+/, ''));
    expect(input.code).toBe(1);
    expect(input.stdout).toContain(
      'does not declare the input `script_sha256`, which the app sends (GitHub refuses such a dispatch)\n' +
        '  fix: add `script_sha256: { type: string, required: false }` under on.workflow_dispatch.inputs',
    );
    expect(input.stdout).toContain('1 problem in the set-up');

    // 2. The configuration is not ours.
    const bad = await checkBroken(dir, CONFIG, (t) => `${t}concurrency: 40\n`);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`${CONFIG}: \`concurrency\`: Too big: expected number to be <=16`);
    expect(bad.stdout).toContain('  fix: see docs/configuration.md');

    // 3. Not a GitHub workflow: the workflow job has no runs-on.
    const schema = await checkBroken(dir, WORKFLOW, (t) =>
      t.replace(
        "    if: (github.event_name == 'workflow_dispatch' && inputs.mode != 'sharded') || github.event_name == 'schedule'\n    runs-on: ubuntu-latest\n",
        "    if: (github.event_name == 'workflow_dispatch' && inputs.mode != 'sharded') || github.event_name == 'schedule'\n",
      ),
    );
    expect(schema.code).toBe(1);
    expect(schema.stdout).toMatch(
      /not a valid GitHub workflow: .*\/jobs\/workflow\/runs-on: This property is required/,
    );
    expect(schema.stdout).toContain('or rewrite the file with `dwf init --force`');

    // And two more a user meets: a tag instead of a commit, a schedule without the sweep's budget.
    const tag = await checkBroken(dir, WORKFLOW, (t) => t.replaceAll(`@${HEAD}`, '@v1'));
    expect(tag.stdout).toContain('is not pinned to a commit: a tag or branch can move or point at nothing');
    const sweep = await checkBroken(dir, WORKFLOW, (t) =>
      t.replace('  # schedule:\n  #   - cron: "17 4 * * 1"\n', '  schedule:\n    - cron: "17 4 * * 1"\n'),
    );
    expect(sweep.code).toBe(1);
    expect(sweep.stdout).toContain('sets no sweep.budget: the sweep refuses to run without its own budget');
    expect(sweep.stdout).toContain('fix: set `sweep: { budget: { usd: 5 } }`');

    // Sharding on (maxShards above 1) with a workflow from before the sharded path: said, with its fix.
    const old = tempDir('dwf-init-old-');
    cpSync(dir, old, { recursive: true });
    const full = read(old, WORKFLOW);
    writeFileSync(join(old, WORKFLOW), full.slice(0, full.indexOf('\n  # A sharded run:') + 1));
    expect((await dwf(['init', '--check'], old)).code).toBe(0);
    const sharded = await checkBroken(old, CONFIG, (t) => `${t}maxShards: 3\n`);
    expect(sharded.code).toBe(1);
    expect(sharded.stdout).toContain(
      'sets maxShards to 3, but the workflow has no job `shards`, `shard`, `merge`: an approved sharded plan dispatches `mode: sharded`',
    );
    expect(sharded.stdout).toContain('fix: rewrite the file with `dwf init --force`');
    // A shard job that may not update the progress comment.
    const perms = await checkBroken(dir, WORKFLOW, (t) =>
      t.replace(/(\n {2}shard:\n[\s\S]*?permissions:\n {6}contents: read\n) {6}issues: write\n/, '$1'),
    );
    expect(perms.stdout).toContain('the job `shard` lacks issues: write');
  }, 60_000);

  test('--app --sweep: dispatched by the app, the schedule with its own budget; --sweep alone is bad usage', async () => {
    const dir = freshRepository();
    const alone = await dwf(['init', '--sweep', '--action-repo', 'example/dynamic-workflows'], dir);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--sweep needs its own budget');
    expect(existsSync(join(dir, WORKFLOW))).toBe(false);

    const exit = await dwf(
      [
        'init',
        '--app',
        '--app-login',
        'our-dwf[bot]',
        '--sweep',
        '--sweep-budget-tokens',
        '2000000',
        '--action-ref',
        `example/dynamic-workflows@${HEAD}`,
      ],
      dir,
    );
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('install it on the repository');
    const workflow = workflowOf(dir);
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(Object.keys(workflow.jobs)).toEqual(['workflow', 'shards', 'shard', 'merge']);
    expect(validateWorkflow(read(dir, WORKFLOW)).errors).toEqual([]);
    const parsed = parseConfig(yaml.load(read(dir, CONFIG)));
    expect(parsed.ok && parsed.config).toMatchObject({
      budget: { tokens: 5_000_000 },
      sweep: { template: 'sweep', budget: { tokens: 2_000_000 } },
      appLogin: 'our-dwf[bot]',
    });
    expect((await dwf(['init', '--check'], dir)).code).toBe(0);

    // Written once; again only with --force.
    const again = await dwf(['init', '--action-repo', 'example/dynamic-workflows'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'already exist: `dwf init --check` checks them, `dwf init --force` writes them again',
    );
    expect((await dwf(['init', '--force', '--action-repo', 'example/dynamic-workflows'], dir)).code).toBe(0);
  }, 60_000);

  test('a tag is refused; a vendored copy is made from the build and used as ./PATH', async () => {
    const dir = freshRepository();
    const tag = await dwf(['init', '--action-ref', 'example/dynamic-workflows@v1'], dir);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain('pin the action to a full 40-character commit sha');

    const exit = await dwf(['init', '--action-ref', './.github/actions/dynamic-workflows'], dir);
    expect(exit.code).toBe(0);
    expect(existsSync(join(dir, '.github/actions/dynamic-workflows/action.yml'))).toBe(true);
    expect(existsSync(join(dir, '.github/actions/dynamic-workflows/dist/index.mjs'))).toBe(true);
    expect(read(dir, WORKFLOW)).toContain('      - uses: ./.github/actions/dynamic-workflows\n');
    expect(read(dir, CONFIG).split('\n')[0]).toBe(
      '# yaml-language-server: $schema=../.github/actions/dynamic-workflows/dynamic-workflows.schema.json',
    );
    expect((await dwf(['init', '--check'], dir)).code).toBe(0);
  }, 60_000);
});

test('on a terminal, dwf init asks what no flag answered, defaults shown', async () => {
  const dir = freshRepository();
  // App? yes. Model: Enter (the default). Budget: 25 dollars. Sweep? yes, then a bad and a good budget.
  const stdin = Object.assign(Readable.from(['y\n\n25\ny\nlots\n5\n']), { isTTY: true });
  let out = '';
  let err = '';
  const code = await init(['--action-repo', 'example/dynamic-workflows'], {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env: {},
    cwd: dir,
    stdin,
  });
  expect(code).toBe(0);
  expect(err).toContain('Will the GitHub App dispatch this workflow?');
  expect(err).toContain('Model [anthropic:claude-sonnet-5-5]');
  expect(err).toContain('the sweep budget must be a number greater than 0, got "lots"');
  expect(out).toContain('a weekly sweep of at most $5');
  const parsed = parseConfig(yaml.load(read(dir, CONFIG)));
  expect(parsed.ok && parsed.config).toMatchObject({
    model: 'anthropic:claude-sonnet-5-5',
    budget: { usd: 25 },
    sweep: { budget: { usd: 5 } },
  });
  expect(Object.keys(workflowOf(dir).jobs)).toEqual(['workflow', 'shards', 'shard', 'merge']);
});
