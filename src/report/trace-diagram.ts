import type { RunEvent } from '../engine/events.js';
import { plural } from './format.js';
import { agentsOf, type PhaseSummary, phaseSummaries, type TraceStatus } from './trace-data.js';

/** Phases a diagram draws; a script that names more gets one node saying how many more. */
export const MAX_DIAGRAM_PHASES = 12;

const ORDER: TraceStatus[] = ['done', 'replayed', 'failed', 'invalid', 'stopped', 'running', 'queued'];

/**
 * Text from a script (a phase's name) made safe inside a quoted Mermaid label in a markdown fence:
 * Mermaid's entity codes for quotes and angle brackets, no backticks (they could close the fence),
 * one line, at most 60 characters.
 */
export function mermaidLabel(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const short = flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
  return short
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, "'")
    .replace(/[[\]{}|]/g, ' ');
}

function outcomeOf(p: PhaseSummary): 'failed' | 'stopped' | 'done' {
  if ((p.statuses.failed ?? 0) + (p.statuses.invalid ?? 0) > 0) return 'failed';
  if ((p.statuses.stopped ?? 0) + (p.statuses.queued ?? 0) + (p.statuses.running ?? 0) > 0) return 'stopped';
  return 'done';
}

function nodeText(p: PhaseSummary, oracle: string | undefined): string {
  const counts = ORDER.filter((s) => p.statuses[s])
    .map((s) => `${p.statuses[s]} ${s}`)
    .join(', ');
  const lines = [mermaidLabel(p.name)];
  if (p.agents > 0) lines.push(`${plural(p.agents, 'agent')}${counts ? `: ${counts}` : ''}`);
  if (oracle) lines.push(mermaidLabel(oracle));
  return lines.join('<br/>');
}

/**
 * A small Mermaid flowchart of a run for the pull request's body (GitHub renders it): one node per
 * phase, in order, with its agents by outcome and its last test run, coloured by its worst outcome.
 * Returns the whole fenced block; an empty string for a run without phases or agents.
 */
export function runDiagram(
  phases: readonly PhaseSummary[],
  oracles: ReadonlyArray<{ phase: string; passed: boolean; summary: string }> = [],
): string {
  if (phases.length === 0) return '';
  const shown = phases.slice(0, MAX_DIAGRAM_PHASES);
  const lines = ['```mermaid', 'flowchart LR'];
  shown.forEach((p, i) => {
    const last = oracles.filter((o) => o.phase === p.name).at(-1);
    const oracle = last ? `tests ${last.passed ? 'pass' : 'fail'}: ${last.summary}` : undefined;
    lines.push(`  p${i}["${nodeText(p, oracle)}"]:::${outcomeOf(p)}`);
  });
  if (phases.length > shown.length) {
    lines.push(`  more["${plural(phases.length - shown.length, 'more phase')}"]`);
  }
  const ids = shown.map((_, i) => `p${i}`);
  if (phases.length > shown.length) ids.push('more');
  if (ids.length > 1) lines.push(`  ${ids.join(' --> ')}`);
  lines.push(
    '  classDef done fill:#dafbe1,stroke:#2e9e5b,color:#1f2328',
    '  classDef failed fill:#ffebe9,stroke:#d64545,color:#1f2328',
    '  classDef stopped fill:#fff1e0,stroke:#e08a2e,color:#1f2328',
    '```',
  );
  return lines.join('\n');
}

/** The diagram of a run from its events (read them with `readRunEvents(runDir)`, engine/run-record.ts). */
export function runDiagramOf(events: Iterable<RunEvent>): string {
  const folded = agentsOf(events);
  return runDiagram(phaseSummaries(folded), folded.oracles);
}

/**
 * The line the progress comment's last version and the pull request carry: where the run's trace
 * page and transcripts are. The artifact is the one the workflow uploads
 * (`dynamic-workflows-<Actions run id>`, action/workflow-example.yml): it holds the runs directory.
 */
export function traceArtifactLine(o: { runUrl: string; actionsRunId: string; runId: string }): string {
  const artifact = `dynamic-workflows-${o.actionsRunId}`;
  return (
    `Trace: the artifact [\`${artifact}\`](${o.runUrl}#artifacts) holds the run directory; ` +
    `open \`${o.runId}/trace.html\` in a browser for the timeline and every agent's transcript, ` +
    `or run \`dwf show ${o.runId} --runs-dir DIR\` on the unzipped directory.`
  );
}
