import { failureCounts, type RunDigest } from '../engine/events.js';
import { cell, plural } from './format.js';

/** The failed agents' reasons on one line, the most frequent first: `Connection error ×3, API error 500`. */
export function failureList(failures: Record<string, number>): string {
  return Object.entries(failures)
    .sort(([, a], [, b]) => b - a)
    .map(([reason, n]) => (n > 1 ? `${reason} ×${n}` : reason))
    .join(', ');
}

/** `3 of 12 agents failed (Connection error ×3)`, or nothing when none failed. */
export function failedAgentsLine(digest: Pick<RunDigest, 'agents' | 'failures' | 'otherFailures'>): string {
  const { agents } = digest;
  if (agents.failed === 0) return '';
  const all = agents.completed + agents.failed + agents.stopped;
  return `${agents.failed} of ${plural(all, 'agent')} failed (${failureList(failureCounts(digest))})`;
}

/**
 * The report's failures: how many agents failed, why (each reason with its count), what the
 * script got for them, and the retries made before they gave up. Nothing when none failed.
 */
export function failuresSection(digest: RunDigest): string[] {
  const { agents } = digest;
  if (agents.failed === 0) return [];
  const all = agents.completed + agents.failed + agents.stopped;
  const lines = [
    '',
    '## Failures',
    '',
    `${agents.failed} of ${plural(all, 'agent')} failed` +
      (agents.completed === 0 ? ', and none succeeded' : `; ${agents.completed} succeeded`) +
      (agents.stopped > 0 ? `; ${agents.stopped} stopped` : '') +
      '. The script got `null` for an agent whose model call failed for good; an agent whose answer ' +
      'never fit its schema made its `agent()` call throw.' +
      (digest.retries > 0 ? ` Model calls were retried ${plural(digest.retries, 'time')} in all.` : ''),
    '',
    '| agents | why |',
    '|---:|---|',
    ...digest.failures.map((f) => `| ${f.count} | ${cell(f.reason)} |`),
  ];
  if (digest.otherFailures > 0)
    lines.push(`| ${digest.otherFailures} | other reasons (see \`events.jsonl\`) |`);
  return lines;
}
