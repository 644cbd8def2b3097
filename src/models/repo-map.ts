import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * A map of the repository for the system prompt every agent of a run shares: each source file with
 * its lines and the names it declares at the top level. It tells an agent where things are (the
 * callers a verifier should read, the module a finding's function comes from) without a
 * `list_files` or `search` round, and it makes the prefix siblings share long enough to be cached
 * (the API caches nothing under 1024 tokens; tools, preamble and schema alone are about 800).
 */

const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  'vendor',
  'dist',
  'build',
  'target',
  '.venv',
  '__pycache__',
]);
const SOURCE = /\.(go|py|js|mjs|cjs|ts|tsx|jsx|rs|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|scala)$/;
const MAX_FILES = 400;
const MAX_CHARS = 8000;
const MAX_NAMES = 8;
const DECLARATION =
  /^(?:func\s+(?:\([^)]*\)\s*)?(\w+)|type\s+(\w+)|def\s+(\w+)|class\s+(\w+)|(?:export\s+(?:default\s+)?)?(?:async\s+)?function\*?\s+(\w+)|export\s+(?:const|let|var|class|interface|type)\s+(\w+)|(?:pub\s+)?(?:fn|struct|enum|trait)\s+(\w+))/;

async function sourceFiles(root: string, dir = root, out: string[] = []): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (out.length >= MAX_FILES) break;
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) await sourceFiles(root, path, out);
    else if (entry.isFile() && SOURCE.test(entry.name)) out.push(relative(root, path));
  }
  return out;
}

/** The names a file declares at the top level (unindented declarations). */
export function declaredNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const match = DECLARATION.exec(line);
    const name = match?.slice(1).find((n) => n !== undefined);
    if (name && !names.includes(name)) names.push(name);
    if (names.length >= MAX_NAMES) break;
  }
  return names;
}

/**
 * The map of a repository directory (an empty string when it has no source files). `files` are
 * the repository's committed files (git ls-files): given, the map is the same for the same commit,
 * whatever else lies in the directory (run directories, build output), so a resumed run's agents
 * get the same prompt as the run they resume. The engine makes it once per run.
 */
export function repositoryMap(
  root: string,
  o: { files?: readonly string[] | undefined; exclude?: readonly string[] } = {},
): Promise<string> {
  return buildMap(root, o.files, o.exclude ?? []);
}

async function buildMap(
  root: string,
  files: readonly string[] | undefined,
  exclude: readonly string[],
): Promise<string> {
  const lines: string[] = [];
  let size = 0;
  const paths = files
    ? [...files]
        .filter((f) => SOURCE.test(f) && !f.split('/').some((part) => SKIP_DIRS.has(part)))
        .sort()
        .slice(0, MAX_FILES)
    : (await sourceFiles(root)).filter((f) => !exclude.some((d) => f === d || f.startsWith(`${d}/`)));
  for (const path of paths) {
    const info = await stat(join(root, path)).catch(() => undefined);
    if (!info || info.size > 512 * 1024) continue;
    const text = await readFile(join(root, path), 'utf8').catch(() => '');
    const names = declaredNames(text);
    const line = `${path} (${text.split('\n').length} lines)${names.length > 0 ? `: ${names.join(', ')}` : ''}`;
    if (size + line.length > MAX_CHARS) {
      lines.push('…');
      break;
    }
    lines.push(line);
    size += line.length + 1;
  }
  if (lines.length === 0) return '';
  return `The repository's source files (path, lines, top-level names), to find what a file uses and who calls it:\n${lines.join('\n')}`;
}
