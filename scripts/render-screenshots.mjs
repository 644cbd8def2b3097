#!/usr/bin/env node
// Renders the README's pictures from a real run of the offline demo: the plan comment (the markdown
// `dwf plan audit` prints, as the bot posts it) and the pull request (its body is the run's
// report.md), each as a GitHub-like page, screenshotted by headless Chromium.
//   npm run demo && node scripts/render-screenshots.mjs
// Needs `chromium` on PATH (Debian: apt-get install -y chromium). Writes docs/images/*.png.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const demo = join(root, '.dwf', 'demo', 'example-api');
const runs = join(root, '.dwf', 'runs');
const out = join(root, 'docs', 'images');
const work = mkdtempSync(join(tmpdir(), 'dwf-shots-'));

const escapeHtml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inline = (s) =>
  escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '<a href="$2">$1</a>');

/** The markdown these texts use: headings, lists, tables, fences, quotes, rules, paragraphs. */
function markdown(text) {
  const lines = text.split('\n');
  const html = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const body = [];
      while (++i < lines.length && !lines[i].startsWith('```')) body.push(lines[i]);
      html.push(`<pre><code>${escapeHtml(body.join('\n'))}</code></pre>`);
    } else if (/^#{1,6} /.test(line)) {
      const level = line.indexOf(' ');
      html.push(`<h${level}>${inline(line.slice(level + 1))}</h${level}>`);
    } else if (line.startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i]);
      i--;
      const cells = (row) =>
        row
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim());
      const [head, , ...body] = rows;
      html.push(
        `<table><tr>${cells(head)
          .map((c) => `<th>${inline(c)}</th>`)
          .join('')}</tr>` +
          body
            .map(
              (r) =>
                `<tr>${cells(r)
                  .map((c) => `<td>${inline(c)}</td>`)
                  .join('')}</tr>`,
            )
            .join('') +
          '</table>',
      );
    } else if (/^(- |\d+\. )/.test(line)) {
      const ordered = /^\d/.test(line);
      const items = [];
      for (; i < lines.length && /^(- |\d+\. )/.test(lines[i]); i++)
        items.push(lines[i].replace(/^(- |\d+\. )/, ''));
      i--;
      const tag = ordered ? 'ol' : 'ul';
      html.push(`<${tag}>${items.map((t) => `<li>${inline(t)}</li>`).join('')}</${tag}>`);
    } else if (line.startsWith('> ')) html.push(`<blockquote>${inline(line.slice(2))}</blockquote>`);
    else if (line === '---') html.push('<hr>');
    else if (line.startsWith('<!--') || line.trim() === '') continue;
    else html.push(`<p>${inline(line)}</p>`);
  }
  return html.join('\n');
}

const CSS = `body{margin:0;background:#fff;font:14px/1.5 -apple-system,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;color:#1f2328}
.page{padding:20px 24px}.title{font-size:26px;margin:0 0 4px}.state{display:inline-block;background:#1f883d;color:#fff;border-radius:2em;padding:4px 12px;font-weight:600;margin-right:8px}
.meta{color:#59636e;margin-bottom:16px}.box{border:1px solid #d1d9e0;border-radius:6px}
.head{background:#f6f8fa;border-bottom:1px solid #d1d9e0;padding:8px 16px;color:#59636e;border-radius:6px 6px 0 0}.head b{color:#1f2328}
.bot{border:1px solid #d1d9e0;border-radius:2em;padding:0 6px;font-size:12px;margin-left:4px}
.body{padding:16px}h2{font-size:20px;border-bottom:1px solid #d1d9e0;padding-bottom:6px;margin:16px 0 12px}h3{font-size:16px;margin:18px 0 8px}
code{background:#eff1f3;border-radius:4px;padding:1px 4px;font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;border-radius:6px;padding:12px;overflow:hidden;white-space:pre-wrap}pre code{background:none;padding:0}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d1d9e0;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f6f8fa}
blockquote{border-left:4px solid #d1d9e0;color:#59636e;margin:8px 0;padding:0 12px}ul,ol{padding-left:24px;margin:6px 0}p{margin:8px 0}`;

function page(header, who, text) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${CSS}</style></head><body><div class="page">${header}
<div class="box"><div class="head"><b>${who}</b><span class="bot">bot</span> commented</div><div class="body">${markdown(text)}</div></div></div></body></html>`;
}

function shoot(name, html, height) {
  const file = join(work, `${name}.html`);
  writeFileSync(file, html);
  execFileSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--window-size=960,${height}`,
      `--screenshot=${join(out, `${name}.png`)}`,
      `file://${file}`,
    ],
    { stdio: 'ignore' },
  );
  console.log(`wrote docs/images/${name}.png`);
}

const here = (text) => text.replaceAll(`${root}/`, '');
const plan = here(
  execFileSync(process.execPath, [join(root, 'bin', 'dwf.js'), 'plan', 'audit', '--repo', demo], {
    encoding: 'utf8',
  }),
).replace(/\nTo run it: .*\n?$/, '');
const approve =
  'Reply `/approve` to run exactly this script (someone with the configured permission). ' +
  'Reply `/workflow revise FEEDBACK` for a new plan; an edited comment or a newer plan voids this one.';
shoot(
  'plan-comment',
  page(
    '<div class="title">Audit the API before the release <span style="color:#59636e">#42</span></div><div class="meta">octocat commented: <code>/workflow audit</code></div>',
    'dynamic-workflows',
    `${plan}\n${approve}\n`,
  ),
  1500,
);

const run = readdirSync(runs)
  .filter((d) => readFileSync(join(runs, d, 'script.js'), 'utf8').includes("name: 'audit'"))
  .sort()
  .pop();
const report = here(readFileSync(join(runs, run, 'report.md'), 'utf8'));
const fixes = (report.match(/^\| fixed \|/gm) ?? []).length;
const sha = /sha256:([0-9a-f]{64})/.exec(plan)?.[1] ?? '';
shoot(
  'pull-request',
  page(
    `<div class="title">audit: ${fixes} fixes (run ${run}) <span style="color:#59636e">#43</span></div><div class="meta"><span class="state">Open</span>dynamic-workflows wants to merge 1 commit into <code>main</code> from <code>dwf/${run}</code></div>`,
    'dynamic-workflows',
    `Plan \`plan-7301\` (script \`sha256:${sha}\`), requested by @octocat and approved by @octocat in #42.\n\nAutomated changes: review them like any contribution; the report says where to look first.\n\n---\n\n${report}`,
  ),
  1700,
);
