import { join } from 'node:path';
import { RE2JS } from 're2js';
import { confinePath, ToolRefusal } from './confine.js';
import { globMatcher, readTextFile, walk } from './file-tools.js';
import { fence, MAX_MATCHES, MAX_READ_BYTES, type ToolEnvironment, text } from './tool-common.js';

/** The search tool: file contents, line by line, with an RE2 pattern. */

/**
 * A model-supplied pattern compiled by RE2 (re2js): matching takes time linear in the line, by
 * construction, so no pattern can stall the process with backtracking, and no worker or deadline
 * is needed. What RE2 lacks (lookaround, backreferences) is refused with a hint.
 */
export function compilePattern(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    const message = (error as Error).message;
    const unsupported = /invalid or unsupported Perl syntax|invalid escape sequence: `\\[1-9]/.test(message);
    throw new ToolRefusal(
      `invalid regular expression for search: ${message}` +
        (unsupported
          ? '. search uses RE2 syntax, which has no lookahead, lookbehind or backreferences: search for a simpler pattern and read the file'
          : ''),
    );
  }
}

export function search(env: ToolEnvironment, input: unknown): string {
  const pattern = text(input, 'pattern')!;
  if (pattern.length > 300) throw new ToolRefusal('pattern is too long (300 characters at most)');
  const regex = compilePattern(pattern);
  const dir = text(input, 'path', false);
  const glob = text(input, 'glob', false);
  const files: string[] = [];
  walk(env.root, dir ? confinePath(env.root, dir).absolute : env.root, files, 20_000);
  const wanted = glob ? files.filter(globMatcher(glob)) : files;
  const hits: string[] = [];
  for (const file of wanted) {
    if (hits.length >= MAX_MATCHES) break;
    let content: string;
    try {
      content = readTextFile(join(env.root, file), file, MAX_READ_BYTES);
    } catch {
      continue;
    }
    content.split('\n').forEach((line, i) => {
      if (hits.length < MAX_MATCHES && line.length < 10_000 && regex.test(line)) {
        // Redacted before it is cut: a secret across the cut would pass as a prefix the redactor misses.
        hits.push(`${file}:${i + 1}: ${env.redactor.redact(line).slice(0, 300)}`);
      }
    });
  }
  const body = hits.length > 0 ? hits.join('\n') : 'no matches';
  return fence('search-results', { pattern, matches: hits.length }, body);
}
