import type { RunEvent } from '../engine/events.js';
import { billedTokens } from '../models/types.js';
import { formatTokens, formatUsd } from '../report/format.js';

export { formatTokens, formatUsd };

/**
 * Live progress for a terminal: one redrawn status line on a TTY, plain lines elsewhere. Phases,
 * logs and failures are printed as they happen; the counts are kept from the event stream alone.
 */
export class ProgressView {
  private phase = '';
  private queued = 0;
  private running = 0;
  private done = 0;
  private failed = 0;
  private replayed = 0;
  private tokens = 0;
  private usd: number | null = null;
  private t = 0;
  private statusShown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {
    if (tty) this.timer = setInterval(() => this.redraw(), 250);
  }

  on(event: RunEvent): void {
    this.t = event.t;
    switch (event.type) {
      case 'run.started':
        this.line(
          `run ${event.runId}: ${event.name}${event.resumedFrom ? ` (resuming ${event.resumedFrom})` : ''}`,
        );
        break;
      case 'phase':
        this.phase = event.phase;
        this.line(`▸ ${event.phase}`);
        break;
      case 'log':
        this.line(`  ${event.message}`);
        break;
      case 'agent.queued':
        this.queued++;
        break;
      case 'agent.started':
        this.queued--;
        this.running++;
        break;
      case 'agent.finished':
        if (event.replayed) {
          this.replayed++;
        } else if (event.attempts === 0 && event.status === 'stopped') {
          this.queued--;
        } else {
          this.running--;
        }
        if (event.status === 'completed') this.done++;
        else this.failed++;
        this.tokens += billedTokens(event.usage);
        if (event.usd !== null && !event.replayed) this.usd = (this.usd ?? 0) + event.usd;
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
    const parts = [
      this.phase || 'starting',
      `${this.running} running`,
      `${this.done} done`,
      ...(this.failed > 0 ? [`${this.failed} failed`] : []),
      ...(this.queued > 0 ? [`${this.queued} queued`] : []),
      ...(this.replayed > 0 ? [`${this.replayed} replayed`] : []),
      `${formatTokens(this.tokens)} tokens`,
      ...(this.usd !== null ? [formatUsd(this.usd)] : []),
      `${(this.t / 1000).toFixed(1)}s`,
    ];
    return parts.join(' · ');
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
