/**
 * A `git diff --stat` of a patch made with `--text`: lines added and removed per file, counted in
 * the hunks only (an added line `++ x` is `+++ x` in the patch, not a file header).
 */
export function diffStatOf(patch: string): string {
  const files: Array<{ name: string; added: number; removed: number }> = [];
  let current: { name: string; added: number; removed: number } | undefined;
  let inHunk = false;
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      current = {
        name: line.replace(/^diff --git "?a\/.*? "?b\//, '').replace(/"$/, ''),
        added: 0,
        removed: 0,
      };
      files.push(current);
      inHunk = false;
      continue;
    }
    if (!current) continue;
    if (line.startsWith('@@')) {
      inHunk = true;
    } else if (inHunk) {
      if (line.startsWith('+')) current.added++;
      else if (line.startsWith('-')) current.removed++;
    } else if (line.startsWith('+++ b/') || line.startsWith('+++ "b/')) {
      current.name = line.slice(line.indexOf('b/') + 2).replace(/"$/, '');
    } else if (line.startsWith('--- a/') || line.startsWith('--- "a/')) {
      current.name = line.slice(line.indexOf('a/') + 2).replace(/"$/, '');
    }
  }
  if (files.length === 0) return '';
  const width = Math.max(...files.map((f) => f.name.length));
  const most = Math.max(...files.map((f) => f.added + f.removed));
  const digits = String(most).length;
  const scale = most > 40 ? 40 / most : 1;
  const rows = files.map((f) => {
    const plus = Math.round(f.added * scale) || (f.added > 0 ? 1 : 0);
    const minus = Math.round(f.removed * scale) || (f.removed > 0 ? 1 : 0);
    const graph = `${'+'.repeat(plus)}${'-'.repeat(minus)}`;
    return ` ${f.name.padEnd(width)} | ${String(f.added + f.removed).padStart(digits)}${graph ? ` ${graph}` : ''}`;
  });
  const added = files.reduce((n, f) => n + f.added, 0);
  const removed = files.reduce((n, f) => n + f.removed, 0);
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const total = [
    plural(files.length, 'file changed', 'files changed'),
    ...(added > 0 ? [plural(added, 'insertion(+)', 'insertions(+)')] : []),
    ...(removed > 0 ? [plural(removed, 'deletion(-)', 'deletions(-)')] : []),
  ].join(', ');
  return [...rows, ` ${total}`].join('\n');
}
