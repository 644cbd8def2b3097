import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { confinePath, readNoFollow, refuseWorkflowWrite, ToolRefusal, writeNoFollow } from './confine.js';
import {
  fence,
  field,
  MAX_LIST,
  MAX_READ_BYTES,
  MAX_READ_LINES,
  MAX_WRITE_BYTES,
  SKIPPED_DIRS,
  type ToolEnvironment,
  text,
} from './tool-common.js';

/** The file tools: list, read, write and edit files under the agent's root. */

export function walk(root: string, from: string, out: string[], limit: number): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(from, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (out.length >= limit) return;
    // A worktree's `.git` is a file: skipped like the directory.
    if (entry.name === '.git') continue;
    const full = join(from, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(root, full, out, limit);
    } else if (entry.isFile()) {
      out.push(relative(root, full).split(sep).join('/'));
    }
    // Symbolic links are neither listed nor followed: the file tools refuse them.
  }
}

export function globMatcher(glob: string): (path: string) => boolean {
  const isMatch = picomatch(glob, { dot: true });
  return (path) => isMatch(path);
}

export function listFiles(env: ToolEnvironment, input: unknown): string {
  const dir = text(input, 'path', false);
  const glob = text(input, 'glob', false);
  const start = dir ? confinePath(env.root, dir).absolute : env.root;
  const files: string[] = [];
  walk(env.root, start, files, MAX_LIST + 1);
  const matches = glob ? files.filter(globMatcher(glob)) : files;
  const shown = matches.slice(0, MAX_LIST);
  const more = matches.length > MAX_LIST ? `\n[more than ${MAX_LIST} files: narrow with path or glob]` : '';
  return shown.length > 0 ? `${shown.join('\n')}${more}` : 'no files match';
}

export function readTextFile(absolute: string, shown: string, maxBytes = MAX_READ_BYTES * 8): string {
  const buffer = readNoFollow(absolute, shown, maxBytes);
  if (buffer.subarray(0, 8000).includes(0)) throw new ToolRefusal(`${shown} is a binary file`);
  return buffer.toString('utf8');
}

export function readFile(env: ToolEnvironment, input: unknown): string {
  const target = confinePath(env.root, field(input, 'path'));
  const content = readTextFile(target.absolute, target.relative);
  const lines = content.split('\n');
  const first = Number(field(input, 'start_line') ?? 1);
  const last = Math.min(
    Number(field(input, 'end_line') ?? lines.length),
    lines.length,
    first + MAX_READ_LINES - 1,
  );
  if (!Number.isInteger(first) || first < 1 || first > Math.max(lines.length, 1)) {
    throw new ToolRefusal(`start_line must be between 1 and ${lines.length}`);
  }
  const body = lines
    .slice(first - 1, last)
    .map((line, i) => `${first + i}: ${line}`)
    .join('\n');
  return fence('file', { path: target.relative, lines: `${first}-${last}`, of: lines.length }, body);
}

export async function writeFile(env: ToolEnvironment, input: unknown): Promise<string> {
  const target = confinePath(env.root, field(input, 'path'));
  const content = text(input, 'content')!;
  if (Buffer.byteLength(content) > MAX_WRITE_BYTES)
    throw new ToolRefusal('content is too large (1 MiB at most)');
  if (target.relative === '') throw new ToolRefusal('path must name a file');
  refuseWorkflowWrite(target.relative);
  await env.workspace.withFileLock(target.absolute, async () => {
    writeNoFollow(env.root, target.relative, content);
  });
  env.workspace.recordChange(env.agentIndex, target.relative);
  return `wrote ${target.relative} (${content.split('\n').length} lines)`;
}

export async function editFile(env: ToolEnvironment, input: unknown): Promise<string> {
  const target = confinePath(env.root, field(input, 'path'));
  refuseWorkflowWrite(target.relative);
  const oldString = text(input, 'old_string')!;
  const newString = text(input, 'new_string')!;
  if (oldString === '')
    throw new ToolRefusal('old_string must not be empty; use write_file to create a file');
  await env.workspace.withFileLock(target.absolute, async () => {
    const content = readTextFile(target.absolute, target.relative);
    const count = content.split(oldString).length - 1;
    if (count !== 1) {
      throw new ToolRefusal(
        count === 0
          ? `old_string was not found in ${target.relative}; read the file again and copy the text exactly`
          : `old_string occurs ${count} times in ${target.relative}; include more context so it occurs once`,
      );
    }
    writeNoFollow(
      env.root,
      target.relative,
      content.replace(oldString, () => newString),
    );
  });
  env.workspace.recordChange(env.agentIndex, target.relative);
  return `edited ${target.relative}`;
}
