import { billedTokens } from '../models/types.js';
import { formatTokens, formatUsd, plural } from './format.js';
import { TRACE_JS } from './trace-client.js';
import type { PhaseSummary, TraceData, TraceStatus } from './trace-data.js';
import { TRACE_CSS } from './trace-style.js';

export { type TraceData, type TraceInput, traceData } from './trace-data.js';

/** Text made safe inside HTML elements and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * JSON that can sit inside a `<script>` element: no `<` at all (so neither `</script>` nor `<!--`
 * can occur), and the line separators JavaScript once refused escaped too.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const STATUSES: TraceStatus[] = ['queued', 'running', 'done', 'failed', 'stopped', 'invalid', 'replayed'];

function outcomes(statuses: PhaseSummary['statuses']): string {
  return STATUSES.filter((s) => statuses[s])
    .map((s) => `<span class="sw s-${s}"></span>${statuses[s]} ${s}`)
    .join(' ');
}

function phaseTable(data: TraceData): string {
  const rows = data.phases.map((p) => {
    const index = data.phaseNames.indexOf(p.name);
    return (
      `<tr class="phase-link" data-phase="${index}"><td>${escapeHtml(p.name)}</td><td class="num">${p.agents}</td>` +
      `<td>${outcomes(p.statuses)}${p.oracles ? ` ${plural(p.oracles, 'oracle run')}` : ''}</td>` +
      `<td class="num">${formatTokens(p.tokens)}</td><td class="num">${escapeHtml(formatUsd(p.usd))}</td>` +
      `<td class="num">${formatMs(p.start)} – ${formatMs(p.end)}</td></tr>`
    );
  });
  return (
    '<table><thead><tr><th>phase</th><th class="num">agents</th><th>outcomes</th><th class="num">tokens</th>' +
    `<th class="num">cost</th><th class="num">from – to</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function oracleList(data: TraceData): string {
  if (data.oracles.length === 0) return '';
  const items = data.oracles.map(
    (o) =>
      `<li><span class="status-${o.passed ? 'done' : 'failed'}">${o.passed ? 'passed' : 'failed'}</span> ` +
      `at ${formatMs(o.t)} in ${escapeHtml(o.phase)} (exit ${o.exitCode}, ${formatMs(o.durationMs)}): ${escapeHtml(o.summary)}</li>`,
  );
  return `<h2>Test runs (oracle)</h2><ul>${items.join('')}</ul>`;
}

function logList(data: TraceData): string {
  if (data.logs.length === 0) return '';
  const items = data.logs.map(
    (l) => `<li><span class="muted">${formatMs(l.t)}</span> ${escapeHtml(l.message)}</li>`,
  );
  return `<details><summary>Script log (${data.logs.length} lines)</summary><ul>${items.join('')}</ul></details>`;
}

function totals(data: TraceData): string {
  const agents = data.agents.length;
  let tokens = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let usd: number | null = null;
  for (const a of data.agents) {
    const usage = {
      inputTokens: a[8] as number,
      outputTokens: a[9] as number,
      cacheReadTokens: a[10] as number,
      cacheWriteTokens: a[11] as number,
    };
    tokens += billedTokens(usage);
    cacheRead += usage.cacheReadTokens;
    cacheWrite += usage.cacheWriteTokens;
    if (a[12] !== null) usd = (usd ?? 0) + (a[12] as number);
  }
  const { run } = data;
  const parts = [
    `<span class="status-${escapeHtml(run.status)}"><b>${escapeHtml(run.status)}</b></span>`,
    `<span>${plural(agents, 'agent')}</span>`,
    `<span>${formatTokens(tokens)} tokens (cache read ${formatTokens(cacheRead)}, write ${formatTokens(cacheWrite)})</span>`,
    `<span>${escapeHtml(formatUsd(usd))}</span>`,
    `<span>${formatMs(run.durationMs)}</span>`,
    run.startedAt ? `<span class="muted">started ${escapeHtml(run.startedAt)}</span>` : '',
    run.model ? `<span class="muted">model ${escapeHtml(run.model)}</span>` : '',
    run.concurrency ? `<span class="muted">concurrency ${run.concurrency}</span>` : '',
    run.resumedFrom ? `<span class="muted">resumed from ${escapeHtml(run.resumedFrom)}</span>` : '',
  ];
  return parts.filter(Boolean).join('');
}

/**
 * The trace page of a run: one self-contained HTML file (inline style, script and data; it loads
 * nothing), readable from file:// or a downloaded artifact.
 */
export function renderTrace(data: TraceData): string {
  const { run } = data;
  const legend = STATUSES.map((s) => `<span><span class="sw s-${s}"></span>${s}</span>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(run.name)} · run ${escapeHtml(run.runId)} · trace</title>
<style>${TRACE_CSS}</style></head>
<body>
<header><h1>${escapeHtml(run.name)} <span class="muted">run ${escapeHtml(run.runId)}</span></h1>
<div class="totals">${totals(data)}</div>
${run.error ? `<pre>${escapeHtml(run.error)}</pre>` : ''}</header>
<main><section id="left">
<h2>Phases</h2>${phaseTable(data)}
${oracleList(data)}
${logList(data)}
<h2>Timeline</h2>
<div class="legend muted">${legend}<span><span class="sw" style="background:#7a5cc2"></span>oracle run</span> · light bar: waiting for a slot · <span id="peak"></span></div>
<div class="filters"><select id="f-phase" aria-label="phase"><option value="">all phases</option></select>
<select id="f-status" aria-label="status"><option value="">all statuses</option></select>
<input id="f-text" type="search" placeholder="filter: label, prompt, model, error" aria-label="text filter">
<span id="shown" class="muted"></span></div>
<div id="axis"></div><canvas id="chart"></canvas>
<div id="rows"><div id="rows-inner"></div></div>
</section>
<aside id="detail"><p class="empty">Click an agent to read its transcript: its prompt, each turn, its tool calls with their output, and its answer.</p></aside>
</main>
<script type="application/json" id="trace-data">${scriptJson(data)}</script>
<script>${TRACE_JS}</script>
</body></html>
`;
}
