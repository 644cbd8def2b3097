import type { RunEvent } from '../engine/events.js';
import { runMarker } from '../github/approval.js';
import { isId } from '../github/ids.js';
import { neutralise } from '../github/markers.js';
import { applyEvent, emptyProgress, type ProgressState, statusLine } from '../report/progress-state.js';

export interface ProgressInfo {
  planId: string;
  runUrl?: string;
  /** This Actions run, recorded with the engine's run id so `/workflow resume` finds its artifact. */
  actionsRunId?: string;
}

/** A log line may be 16 KiB; five of them must leave the comment far below GitHub's 65,536 characters. */
const MAX_LOG_LINE = 500;

function clip(line: string): string {
  const flat = line.replace(/\s+/g, ' ');
  return flat.length > MAX_LOG_LINE
    ? `${flat.slice(0, MAX_LOG_LINE)}… [${flat.length - MAX_LOG_LINE} more characters in the run's log]`
    : flat;
}

/** The progress comment's body: phase, agents, tokens, dollars, and the newest log lines. */
export function renderProgress(state: ProgressState, info: ProgressInfo): string {
  const lines = [
    `**Running plan \`${info.planId}\`**${info.runUrl ? ` ([job](${info.runUrl}))` : ''}`,
    '',
    `\`${statusLine(state)}\``,
  ];
  // Log lines are the script's words: quoted, on one line, and unable to open an HTML comment.
  if (state.logs.length > 0) lines.push('', ...state.logs.map((l) => `> ${neutralise(clip(l))}`));
  lines.push('', endMarker(state, info));
  return lines.join('\n');
}

/**
 * The marker every version of the progress comment ends with: this plan ran, and (once both ids are
 * known and valid) which run of the engine and which Actions run it was.
 */
export function endMarker(state: ProgressState, info: ProgressInfo): string {
  return state.runId &&
    isId('runId', state.runId) &&
    info.actionsRunId &&
    isId('actionsRunId', info.actionsRunId)
    ? runMarker(info.planId, { runId: state.runId, actionsRunId: info.actionsRunId })
    : runMarker(info.planId);
}

/**
 * Keeps one comment up to date while a run goes on, editing it at most once per interval so a
 * thousand agents do not mean a thousand API calls; `flush` writes the last state at the end.
 */
export class ProgressComment {
  readonly state = emptyProgress();
  private lastWrite = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (body: string) => Promise<void>,
    private readonly render: (state: ProgressState) => string,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  on(event: RunEvent): void {
    applyEvent(this.state, event);
    const wait = this.lastWrite + this.intervalMs - this.now();
    if (wait <= 0) this.publish();
    else this.timer ??= setTimeout(() => this.publish(), wait);
  }

  async flush(finalBody?: string): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.write(finalBody ?? this.render(this.state));
  }

  private publish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastWrite = this.now();
    const body = this.render(this.state);
    // Progress is best effort: a failed edit never stops the run.
    this.writing = this.writing.then(() => this.write(body)).catch(() => undefined);
  }
}
