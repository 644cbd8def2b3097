import type { RunEvent } from '../engine/events.js';
import { formatTokens, formatUsd, plural } from '../report/format.js';
import { applyEvent, emptyProgress, statusLine } from '../report/progress-state.js';

export { formatTokens, formatUsd, plural };

/** A wait, as a person reads it: `250 ms`, `1.5 s`, `8 s`, `2 min 30 s`. */
export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${Number((ms / 1000).toFixed(1))} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
}

/**
 * Live progress for a terminal: one redrawn status line on a TTY, plain lines elsewhere. Phases,
 * logs and failures are printed as they happen; the counts are kept from the event stream alone.
 */
export class ProgressView {
  private readonly state = emptyProgress();
  private statusShown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {
    if (tty) this.timer = setInterval(() => this.redraw(), 250);
  }

  on(event: RunEvent): void {
    applyEvent(this.state, event);
    switch (event.type) {
      case 'run.started':
        this.line(
          `run ${event.runId}: ${event.name}${event.resumedFrom ? ` (resuming ${event.resumedFrom})` : ''}`,
        );
        break;
      case 'phase':
        this.line(`▸ ${event.phase}`);
        break;
      case 'log':
        this.line(`  ${event.message}`);
        break;
      case 'agent.finished':
        if (
          event.status !== 'completed' &&
          event.error &&
          !/the run was stopped|the script finished/.test(event.error)
        ) {
          this.line(
            `  ✗ agent #${event.index}${event.label ? ` ${event.label}` : ''} ${event.status}: ${event.error}`,
          );
        }
        break;
      case 'agent.retry':
        this.line(
          `  ↻ agent #${event.index}${event.label ? ` ${event.label}` : ''}: ${event.reason} — ` +
            `retry ${event.attempt} of ${event.of} in ${formatDelay(event.delayMs)}`,
        );
        break;
      case 'item.failed':
        this.line(`  ! ${event.where} failed: ${event.error}`);
        break;
      case 'budget.exhausted':
        this.line(`  $ ${event.reason}: no new agents will start`);
        break;
      case 'workflow.started':
        this.line(`  ↳ workflow ${event.name}`);
        break;
      case 'workflow.finished':
        if (!event.ok) this.line(`  ↳ workflow ${event.name} failed: ${event.error}`);
        break;
      case 'run.finished':
        break;
    }
  }

  status(): string {
    return statusLine(this.state);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.statusShown) this.write('\r\x1b[K');
    this.statusShown = false;
  }

  private line(text: string): void {
    if (this.tty && this.statusShown) this.write('\r\x1b[K');
    this.statusShown = false;
    this.write(`${text}\n`);
    if (this.tty) this.redraw();
  }

  private redraw(): void {
    if (!this.tty) return;
    this.write(`\r\x1b[K${this.status()}`);
    this.statusShown = true;
  }
}
