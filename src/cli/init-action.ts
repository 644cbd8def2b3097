import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGit } from '../agents/git.js';
import { SCHEMA_PATH } from './init-reference.js';
import { UsageError } from './options.js';

/** This package's root: a clone of dynamic-workflows when dwf runs from one. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The action the written workflow uses, and where editors find the configuration's schema. */
export interface ActionSource {
  /** `OWNER/NAME/action@SHA` or `./PATH`. */
  uses: string;
  /** The schema's URL, or its path relative to `.github/` for a vendored copy. */
  schemaUrl: string;
  /** One line saying where the action comes from. */
  description: string;
  /** What the user must still make true (a commit to push), if anything. */
  note?: string;
}

const SHA = /^[0-9a-f]{40}$/;

/** `OWNER/NAME` of a GitHub remote URL (https or ssh), or undefined. */
export function githubRepoOf(url: string): string | undefined {
  const match = /github\.com[:/]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return match ? `${match[1]}/${match[2]}` : undefined;
}

async function gitOut(cwd: string, ...args: string[]): Promise<string | undefined> {
  const out = await runGit(args, { cwd }).catch(() => undefined);
  return out?.trim() || undefined;
}

/** A copy of the action (action.yml, the bundle) and the schema in the repository, at `./PATH`. */
function vendored(repoDir: string, given: string): ActionSource {
  const target = resolve(repoDir, given);
  const inside = relative(repoDir, target);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new UsageError(`--action-ref ${given}: a vendored copy must be a directory inside the repository`);
  }
  const uses = `./${inside.split(sep).join('/')}`;
  if (!existsSync(join(target, 'action.yml'))) {
    const bundle = join(PACKAGE_ROOT, 'action', 'dist', 'index.mjs');
    if (!existsSync(bundle)) {
      throw new UsageError(
        `--action-ref ${given}: there is no action there, and this dwf has no built action to copy ` +
          '(action/dist/ of a clone of dynamic-workflows): copy action/action.yml and action/dist/ there first',
      );
    }
    mkdirSync(target, { recursive: true });
    cpSync(join(PACKAGE_ROOT, 'action', 'action.yml'), join(target, 'action.yml'));
    cpSync(join(PACKAGE_ROOT, 'action', 'dist'), join(target, 'dist'), { recursive: true });
  }
  cpSync(join(PACKAGE_ROOT, SCHEMA_PATH), join(target, 'dynamic-workflows.schema.json'));
  return {
    uses,
    schemaUrl: `../${inside.split(sep).join('/')}/dynamic-workflows.schema.json`,
    description: `the vendored copy in ${uses}`,
  };
}

/**
 * Where the action comes from: `--action-ref ./PATH` (a vendored copy, made from this package's
 * build when the directory holds none), `--action-ref OWNER/NAME@SHA`, `--action-ref SHA` (with
 * `--action-repo OWNER/NAME` or this clone's GitHub remote), or nothing: this clone's HEAD commit.
 * Never a tag: `@v1` of a repository without releases points at nothing.
 */
export async function resolveAction(
  repoDir: string,
  ref: string | undefined,
  repo: string | undefined,
): Promise<ActionSource> {
  if (ref !== undefined && (ref.startsWith('.') || ref.startsWith('/'))) return vendored(repoDir, ref);
  let sha = ref;
  let where = repo;
  const full = ref === undefined ? undefined : /^([\w.-]+\/[\w.-]+)@(.+)$/.exec(ref);
  if (full) {
    where = full[1]!;
    sha = full[2]!;
  }
  let note: string | undefined;
  if (sha === undefined) {
    sha = existsSync(join(PACKAGE_ROOT, '.git'))
      ? await gitOut(PACKAGE_ROOT, 'rev-parse', 'HEAD')
      : undefined;
    if (sha === undefined) {
      throw new UsageError(
        'which commit of the action? This dwf does not run from a clone of dynamic-workflows: ' +
          'pass --action-ref SHA --action-repo OWNER/NAME, or --action-ref ./PATH for a vendored copy',
      );
    }
    note = `the workflow is pinned to ${sha.slice(0, 12)}, the commit this dwf runs from: it must be pushed to WHERE`;
  }
  if (!SHA.test(sha)) {
    throw new UsageError(
      `--action-ref ${ref}: pin the action to a full 40-character commit sha (a tag or branch can move or point at nothing), or give ./PATH`,
    );
  }
  where ??= githubRepoOf((await gitOut(PACKAGE_ROOT, 'remote', 'get-url', 'origin')) ?? '');
  if (!where || !/^[\w.-]+\/[\w.-]+$/.test(where)) {
    throw new UsageError(
      'where does dynamic-workflows live on GitHub? This clone has no GitHub remote: pass --action-repo OWNER/NAME',
    );
  }
  return {
    uses: `${where}/action@${sha}`,
    schemaUrl: `https://raw.githubusercontent.com/${where}/${sha}/${SCHEMA_PATH}`,
    description: `${where}/action at commit ${sha.slice(0, 12)}`,
    ...(note ? { note: note.replace('WHERE', where) } : {}),
  };
}
