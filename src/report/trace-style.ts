/** The trace page's stylesheet, inlined: the page loads nothing. */
export const TRACE_CSS = `
:root { --queued:#c3c8cf; --running:#3b82c4; --done:#2e9e5b; --failed:#d64545; --stopped:#e08a2e;
  --invalid:#9b4dca; --replayed:#2aa5a5; --line:#d8dde3; --muted:#5b6470; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; background: #fff; }
header { padding: 12px 16px; border-bottom: 1px solid var(--line); background: var(--bg); }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 14px; margin: 14px 0 6px; }
.muted { color: var(--muted); }
.totals span { margin-right: 14px; white-space: nowrap; }
.status-done, .status-completed { color: var(--done); } .status-failed { color: var(--failed); }
.status-stopped { color: var(--stopped); }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(340px, 2fr); gap: 0; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
#left { padding: 8px 16px; border-right: 1px solid var(--line); min-width: 0; }
#detail { padding: 8px 16px; overflow: auto; max-height: 100vh; position: sticky; top: 0; }
table { border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
tr.phase-link { cursor: pointer; } tr.phase-link:hover { background: var(--bg); }
.filters { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 10px 0 6px; }
.filters input { flex: 1; min-width: 160px; padding: 4px 6px; }
.legend span { margin-right: 10px; white-space: nowrap; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 3px; vertical-align: -1px; }
#axis { position: relative; height: 18px; margin-left: 260px; border-bottom: 1px solid var(--line); font-size: 11px; color: var(--muted); }
#axis span { position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }
#chart { display: block; margin-left: 260px; width: calc(100% - 260px); height: 48px; border-bottom: 1px solid var(--line); }
#rows { position: relative; height: 62vh; overflow: auto; border-bottom: 1px solid var(--line); }
#rows-inner { position: relative; }
.row { position: absolute; left: 0; right: 0; height: 22px; display: flex; align-items: center; cursor: pointer; }
.row:hover, .row.selected { background: #eef4fb; }
.row .name { width: 260px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: 8px; }
.row .track { position: relative; flex: 1; height: 100%; }
.bar { position: absolute; top: 5px; height: 12px; border-radius: 2px; min-width: 2px; }
.bar.wait { background: var(--queued); opacity: .55; }
.phase-row { font-weight: 600; background: var(--bg); cursor: default; border-top: 1px solid var(--line); }
.phase-row:hover { background: var(--bg); }
.oracle-mark { position: absolute; top: 5px; height: 12px; border-radius: 2px; background: #7a5cc2; opacity: .75; }
.s-queued { background: var(--queued); } .s-running { background: var(--running); } .s-done { background: var(--done); }
.s-failed { background: var(--failed); } .s-stopped { background: var(--stopped); } .s-invalid { background: var(--invalid); }
.s-replayed { background: var(--replayed); }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; white-space: pre-wrap;
  word-break: break-word; margin: 4px 0 8px; max-height: 420px; overflow: auto; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.entry { border-left: 3px solid var(--line); padding-left: 8px; margin: 8px 0; }
.entry.tool { border-color: var(--running); } .entry.error { border-color: var(--failed); }
.entry.answer { border-color: var(--done); } .entry.note { border-color: var(--stopped); }
.entry h3 { font-size: 12px; margin: 0 0 2px; }
.thread a, a.agent-link { cursor: pointer; color: #0969da; text-decoration: none; } .thread a:hover { text-decoration: underline; }
.thread li.current { font-weight: 600; }
.empty { color: var(--muted); padding: 20px 0; }
details summary { cursor: pointer; }
`;
