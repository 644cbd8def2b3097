import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A refusal the model sees as a tool error; never a crash. */
export class ToolRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolRefusal';
  }
}

/** True when `target` is `root` or below it (both absolute, normalised). */
export function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Resolves a path an agent gave to a path inside the workspace, or refuses: no `..` out, no
 * absolute path elsewhere, nothing under `.git/`, and no symbolic link anywhere on the way (each
 * existing component is checked with lstat). A link is refused even when it points inside: a
 * committed `notes.md -> /outside/file` or `hook.md -> .git/hooks/pre-commit` whose target does
 * not exist yet would otherwise let a write create that target. `root` must be a real path.
 */
export function confinePath(root: string, requested: unknown): { absolute: string; relative: string } {
  if (typeof requested !== 'string' || requested.trim() === '')
    throw new ToolRefusal('path must be a non-empty string');
  if (requested.includes('\0')) throw new ToolRefusal('path contains a NUL byte');
  const absolute = resolve(root, requested);
  if (!inside(root, absolute)) {
    throw new ToolRefusal(
      `refused: ${requested} is outside the workspace; use paths relative to the repository root`,
    );
  }
  const rel = relative(root, absolute);
  const parts = rel === '' ? [] : rel.split(sep);
  if (parts.some((part) => part.toLowerCase() === '.git'))
    throw new ToolRefusal(`refused: ${requested} is inside .git/, which agents may not touch`);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(current);
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') break;
      throw error;
    }
    if (stat.isSymbolicLink()) {
      throw new ToolRefusal(
        `refused: ${requested} goes through a symbolic link (${relative(root, current).split(sep).join('/')}); ` +
          'the file tools read and write real files only',
      );
    }
  }
  return { absolute, relative: parts.join('/') };
}

/** Where agents may not write: GitHub Actions workflows and the local actions they run. */
const WORKFLOW_DIRS = ['.github/workflows', '.github/actions'];

/** The workflow directory a repository path is under (any case), if it is under one. */
export function workflowDirOf(relativePath: string): string | undefined {
  const lower = relativePath.toLowerCase();
  return WORKFLOW_DIRS.find((d) => lower === d || lower.startsWith(`${d}/`));
}

/**
 * Refuses a write or edit of a workflow file or a local action (any case, the path already
 * resolved by `confinePath`). The job token cannot push a workflow change (GitHub rejects the
 * whole push, so the run would lose its pull request), and a token that could would run the new
 * workflow, with the repository's secrets, before anyone reviewed it.
 */
export function refuseWorkflowWrite(relativePath: string): void {
  const dir = workflowDirOf(relativePath);
  if (dir === undefined) return;
  throw new ToolRefusal(
    `refused: ${relativePath} is under ${dir}/, and agents may not write GitHub Actions workflows or actions: ` +
      'the job token cannot push workflow changes; describe the change in your answer instead',
  );
}

function refuseLink(error: unknown, shown: string): never {
  if (code(error) === 'ELOOP') throw new ToolRefusal(`refused: ${shown} is a symbolic link`);
  throw error;
}

/** Reads a regular file without following a symbolic link in its last component. */
export function readNoFollow(absolute: string, shown: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in the tree must not hang the agent.
    fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    refuseLink(error, shown);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ToolRefusal(`${shown} is not a file`);
    if (stat.size > maxBytes) throw new ToolRefusal(`${shown} is too large to read (${stat.size} bytes)`);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file inside `root`, creating missing directories one at a time and opening the file
 * with O_NOFOLLOW, so neither a directory nor the file itself can be a link someone slipped in.
 */
export function writeNoFollow(root: string, relativePath: string, content: string): void {
  const parts = relativePath.split('/');
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    try {
      mkdirSync(current);
    } catch (error) {
      if (code(error) !== 'EEXIST') throw error;
      const stat = lstatSync(current);
      if (stat.isSymbolicLink())
        throw new ToolRefusal(`refused: ${relativePath} goes through a symbolic link`);
      if (!stat.isDirectory())
        throw new ToolRefusal(`refused: ${relative(root, current)} is not a directory`);
    }
  }
  const target = join(root, ...parts);
  let fd: number;
  try {
    fd = openSync(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    refuseLink(error, relativePath);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new ToolRefusal(`${relativePath} is not a file`);
    const bytes = Buffer.from(content, 'utf8');
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  } finally {
    closeSync(fd);
  }
}
