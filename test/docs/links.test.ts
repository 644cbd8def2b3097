import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const FILES = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];

/** The text outside code fences and code spans: links inside code are examples, not links. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Every relative link of a markdown file: [text](target), and src/href of inline HTML. */
function linksOf(file: string): string[] {
  const text = prose(readFileSync(file, 'utf8'));
  return [
    ...[...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!),
  ].filter((target) => !/^[a-z]+:/i.test(target));
}

describe('every relative link in README.md and docs/ resolves', () => {
  test.each(FILES.map((f) => relative(root, f)))('%s', (name) => {
    const file = join(root, name);
    const broken: string[] = [];
    for (const link of linksOf(file)) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      if (!existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (anchor && statSync(target).isFile() && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
        broken.push(`${link}: no heading with the anchor #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('the pages link each other: every page of docs/ is reachable from the README', () => {
    const reached = new Set<string>();
    const visit = (file: string) => {
      if (reached.has(file) || !file.endsWith('.md') || !existsSync(file)) return;
      reached.add(file);
      for (const link of linksOf(file)) {
        const path = link.split('#')[0]!;
        if (path) visit(join(dirname(file), path));
      }
    };
    visit(join(root, 'README.md'));
    const unreached = markdownFiles(join(root, 'docs')).filter((f) => !reached.has(f));
    expect(unreached.map((f) => relative(root, f))).toEqual([]);
  });
});

describe('the README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  test('is at most 8,000 characters', () => {
    expect(readme.length).toBeLessThanOrEqual(8000);
  });

  test('leads with the product and its pictures, then the two commands of a fresh machine', () => {
    const pictures = readme.indexOf('docs/images/plan-comment.png');
    const commands = readme.indexOf('npm ci && npm run demo');
    expect(pictures).toBeGreaterThan(0);
    expect(readme.indexOf('docs/images/pull-request.png')).toBeGreaterThan(0);
    expect(commands).toBeGreaterThan(pictures);
    expect(readme.indexOf('npm test')).toBeGreaterThan(commands);
    expect(readme).toContain('ANTHROPIC_API_KEY');
    // How long the test suite takes is said (issue 14).
    expect(readme).toMatch(/`npm test` about \d+ minutes/);
  });

  test('slugs are GitHub’s', () => {
    expect(slug('`dwf init`')).toBe('dwf-init');
    expect(slug('appLogin: the bot the runner trusts')).toBe('applogin-the-bot-the-runner-trusts');
    expect(slug('The runner (GitHub Actions)')).toBe('the-runner-github-actions');
  });
});
