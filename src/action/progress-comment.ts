import type { RunEvent } from '../engine/events.js';
import { isId } from '../github/ids.js';
import type { ProgressInfo } from '../github/progress-texts.js';
import { applyEvent, emptyProgress, type ProgressState } from '../report/progress-state.js';

/**
 * What a progress comment says of where it runs: the plan, the job's page, and this Actions run,
 * whose artifact a resume downloads (a local run's id, 'local', is none).
 */
export function progressInfo(
  planId: string,
  place: { jobUrl?: string; actionsRunId?: string },
): ProgressInfo {
  return {
    planId,
    ...(place.jobUrl ? { runUrl: place.jobUrl } : {}),
    ...(place.actionsRunId && isId('actionsRunId', place.actionsRunId)
      ? { actionsRunId: place.actionsRunId }
      : {}),
  };
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
