import type { RunEvent } from '../engine/events.js';
import { readMarker } from '../github/markers.js';
import type { GitHubPort } from '../github/port.js';
import { type ProgressInfo, shardedProgress } from '../github/texts.js';
import {
  applyEvent,
  emptyProgress,
  newestShardStates,
  type ShardState,
  type ShardStatus,
  shardStateOf,
} from '../report/progress-state.js';

export interface ShardProgressInfo extends ProgressInfo {
  /** The bot's logins: only a marker in a comment one of them wrote is read back. */
  trusted: readonly string[];
}

export interface ShardProgressOptions {
  /**
   * At most one update of the comment per interval while the shard runs. By default 30 seconds
   * times the count: an update costs three calls (read, write, the check's read), so however many
   * shards there are, the run makes about 360 progress calls an hour, as one unsharded run's comment
   * does (every 10 seconds, one write), far below the job token's 1,000 requests an hour per
   * repository; the comment still changes every 30 seconds on average.
   */
  intervalMs?: number;
  /**
   * How long after its write a shard re-reads the comment to check that its own state is still
   * there. It must be longer than any other shard's read-then-write takes: a stale write (one made
   * from a read before this shard's write) then lands before the check and is seen.
   */
  verifyDelayMs?: number;
  /** Up to this much more, at random, so shards that wrote together do not check (and rewrite) together. */
  jitterMs?: number;
  /** Writes of one update, the first included, before it gives up (the next update, or the merge, writes again). */
  maxAttempts?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** How a shard's run ended, for its last update: its status, and its exact spend when known. */
export interface ShardEnd {
  status: ShardStatus;
  tokens?: number;
  usd?: number | null;
}

type CommentPort = Pick<GitHubPort, 'getComment' | 'updateComment'>;

/** The run's progress comment changes about this often, whatever the count (see `intervalMs`). */
export const PROGRESS_CALL_INTERVAL_MS = 30_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One shard's updates of the progress comment every shard of a sharded run shares. GitHub has no
 * compare-and-swap on comments, so an update is a read-modify-write that keeps the other shards'
 * newest states (from this read and every earlier one: the highest version of each wins) beside this
 * shard's own, followed by a check: after a short, jittered delay the comment is read again, and if a
 * writer that read before this write has since put an older version of this shard's state back, the
 * update is written again. Each shard owns only its own state; no shard can make another's go
 * backwards for longer than that other shard's next check. The merge job's last version, written
 * from the shards' artifacts, is the record.
 *
 * Progress is best effort: a failed read or write never stops the shard's run.
 */
export class ShardProgress {
  readonly state = emptyProgress();
  /** The newest state of every shard this writer has read. */
  private seen: ShardState[] = [];
  private version = 0;
  /** The run the comment's marker names: the first shard's to write one, kept by every later write. */
  private markerRunId: string | undefined;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private queued = false;
  private ended = false;
  private writing: Promise<unknown> = Promise.resolve();
  private readonly o: Required<ShardProgressOptions>;

  constructor(
    private readonly github: CommentPort,
    private readonly commentId: number,
    private readonly shardIndex: number,
    private readonly count: number,
    private readonly info: ShardProgressInfo,
    options: ShardProgressOptions = {},
  ) {
    if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= count)
      throw new Error(`shard ${shardIndex} is not one of the run's ${count} shards (0 to ${count - 1})`);
    this.o = {
      intervalMs: PROGRESS_CALL_INTERVAL_MS * count,
      verifyDelayMs: 3_000,
      jitterMs: 2_000,
      maxAttempts: 5,
      now: Date.now,
      sleep: realSleep,
      random: Math.random,
      ...options,
    };
  }

  /** One event of the shard's run: folded into its state, and written at most once per interval. */
  on(event: RunEvent): void {
    applyEvent(this.state, event);
    if (this.ended) return;
    const wait = this.lastWrite + this.o.intervalMs - this.o.now();
    if (wait <= 0) this.publish();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.publish(), wait);
      this.timer.unref?.();
    }
  }

  /**
   * The shard's last update: its end status (and exact spend), written and checked until its state
   * is in the comment. True once it is; false when every attempt was overwritten or failed.
   */
  async flush(end: ShardEnd): Promise<boolean> {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (end.tokens !== undefined) this.state.tokens = end.tokens;
    if (end.usd !== undefined) this.state.usd = end.usd;
    await this.writing;
    return this.update(end.status).catch(() => false);
  }

  private publish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastWrite = this.o.now();
    // One write waits at most: it takes the state as it is when it starts.
    if (this.queued) return;
    this.queued = true;
    this.writing = this.writing.then(() => this.update('running')).catch(() => false);
  }

  /** Every shard's states in the comment now, if the bot wrote it for this plan; else none. */
  private async read(): Promise<ShardState[]> {
    const comment = await this.github.getComment(this.commentId);
    const marker = comment ? readMarker('run', comment, this.info.trusted) : undefined;
    if (marker?.planId !== this.info.planId) return [];
    this.markerRunId ??= marker.runId;
    const states = marker.shards ?? [];
    this.seen = newestShardStates(
      this.seen,
      states.filter((s) => s.index !== this.shardIndex),
    );
    return states;
  }

  /** Read, merge, write, then check after a jittered delay; again while this shard's state was overwritten. */
  private async update(status: ShardStatus): Promise<boolean> {
    this.queued = false;
    // Versions count up from the clock: a re-run of this job writes newer ones than the attempt before.
    this.version = Math.max(this.version + 1, this.o.now());
    const own = shardStateOf(this.shardIndex, this.version, status, this.state);
    for (let attempt = 0; attempt < this.o.maxAttempts; attempt++) {
      await this.read();
      const states = newestShardStates(this.seen, [own]);
      const runId = this.markerRunId ?? this.state.runId;
      await this.github.updateComment(
        this.commentId,
        shardedProgress({ count: this.count, states, info: this.info, runId }),
      );
      await this.o.sleep(this.o.verifyDelayMs + this.o.random() * this.o.jitterMs);
      const after = (await this.read()).find((s) => s.index === this.shardIndex);
      if (after && after.version >= own.version) return true;
    }
    return false;
  }
}
