import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGit } from '../agents/git.js';
import { createRepoCodeRunner } from '../agents/isolation.js';
import { type CliIo, parseFlags, UsageError } from './options.js';
import { run } from './run.js';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A fresh git repository holding a copy of the example API, so the demo never edits the
 * project's own files and always starts from the same planted bugs.
 */
export async function prepareDemoRepository(source: string, target: string): Promise<string> {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, filter: (path) => !path.includes('node_modules') });
  const git = (...args: string[]) =>
    runGit(args, {
      cwd: target,
      config: [
        ['user.name', 'Dynamic Workflows demo'],
        ['user.email', 'dynamic-workflows@users.noreply.github.com'],
      ],
    });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'example-api as shipped, planted bugs included');
  return target;
}

/**
 * The demo runs the bundled example's own tests: isolated where this machine allows it; where it
 * does not (no root, no passwordless sudo), it says so and runs them unisolated, since the code is
 * the example shipped with this package, not a repository's.
 */
export async function demoIsolationArgs(write: (text: string) => void): Promise<string[]> {
  const runner = await createRepoCodeRunner({ isolation: 'required' });
  if (runner.isolated) return [];
  write(
    `${runner.description}\n` +
      "the demo passes --no-isolation: the tests it runs are the bundled example's, shipped with dwf, not a repository's\n",
  );
  return ['--no-isolation'];
}

/** `dwf demo`: audits a fresh copy of the bundled example API with replayed replies and its own tests as the oracle. */
export async function demo(rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('demo', rest, {
    model: { type: 'string' },
    'runs-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`demo takes no arguments, got "${positionals[0]}"`);
  const shown = (path: string) => relative(io.cwd, path) || '.';
  const repo = await prepareDemoRepository(
    join(PACKAGE_ROOT, 'examples', 'api'),
    resolve(io.cwd, '.dwf', 'demo', 'example-api'),
  );
  io.stderr.write(
    `demo repository: ${shown(repo)} — a fresh copy of examples/api, a small web API with planted bugs and security holes\n`,
  );
  const outcome = await run(
    [
      'audit',
      '--repo',
      shown(repo),
      '--oracle',
      'node --test',
      '--model',
      values.model ?? `fixture:${shown(join(PACKAGE_ROOT, 'examples', 'workflows', 'audit.replies.json'))}`,
      ...(values['runs-dir'] ? ['--runs-dir', values['runs-dir']] : []),
      ...(values.json ? ['--json'] : []),
      ...(await demoIsolationArgs((text) => io.stderr.write(text))),
    ],
    io,
  );
  if (outcome.summary?.branch && !values.json) {
    io.stderr.write(`see the fixes: git -C ${shown(repo)} show --stat ${outcome.summary.branch}\n`);
  }
  return outcome.code;
}
