import { describe, expect, test } from 'vitest';
import { ShardProgress, type ShardProgressOptions } from '../../src/action/shard-progress.js';
import type { RunEvent } from '../../src/engine/events.js';
import { readMarker } from '../../src/github/markers.js';
import type { IssueComment } from '../../src/github/port.js';
import { runProgress, shardedProgress } from '../../src/github/texts.js';
import {
  emptyProgress,
  MAX_SHARD_PHASE,
  type ShardState,
  shardDoneBefore,
} from '../../src/report/progress-state.js';

const BOT = 'github-actions[bot]';
const INFO = {
  planId: 'plan-9',
  runUrl: 'https://github.com/o/r/actions/runs/77',
  actionsRunId: '77',
  trusted: [BOT],
};
const COMMENT_ID = 300;

/** A seeded random number generator, so a failing interleaving can be run again. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The progress comment on a stand-in for GitHub whose reads and writes interleave adversarially: a
 * read returns the body as it was when the request left (the stalest it could be), and a write lands
 * only when its latency is over, after whatever landed in between. No compare-and-swap, as on GitHub.
 */
class CommentStandIn {
  writes = 0;
  readonly landed: string[] = [];
  constructor(
    public body: string,
    private readonly latency: () => number,
    public author = BOT,
  ) {}

  async getComment(id: number): Promise<IssueComment | undefined> {
    const body = this.body;
    await delay(this.latency());
    return {
      id,
      body,
      user: { login: this.author, type: 'Bot' },
      created_at: '2026-11-26T08:00:00Z',
      updated_at: '2026-11-26T08:00:00Z',
      issueUrl: 'https://api.github.com/repos/o/r/issues/1',
    };
  }

  async updateComment(_id: number, body: string): Promise<void> {
    await delay(this.latency());
    this.body = body;
    this.landed.push(body);
    this.writes++;
  }

  states(): ShardState[] {
    return readMarker('run', { body: this.body, user: { login: BOT } }, [BOT])?.shards ?? [];
  }
}

const usage = (tokens: number) => ({
  inputTokens: tokens,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

/** The events of a shard's run: started, a phase, then `agents` agents, each queued, started and finished. */
function* shardEvents(shard: number, agents: number): Generator<RunEvent> {
  let t = 0;
  yield {
    type: 'run.started',
    t,
    runId: `20261126-080000-shard${shard}`,
    name: 'audit',
    concurrency: 4,
    maxAgents: 100,
  };
  yield { type: 'phase', t: ++t, phase: 'review' };
  for (let i = 0; i < agents; i++) {
    yield { type: 'agent.queued', t: ++t, index: i };
    yield { type: 'agent.started', t: ++t, index: i, model: 'sim' };
    yield {
      type: 'agent.finished',
      t: ++t,
      index: i,
      status: 'completed',
      usage: usage(100 * (shard + 1)),
      usd: 0.01,
      attempts: 1,
    };
  }
}

const FAST: ShardProgressOptions = { intervalMs: 0, verifyDelayMs: 80, jitterMs: 40 };

/** Three (or more) shards of one run, their events and their last updates all at once. */
async function runShards(standIn: CommentStandIn, count: number, seed: number, agents = 6) {
  const random = seeded(seed);
  const shards = Array.from(
    { length: count },
    (_, i) =>
      new ShardProgress(standIn, COMMENT_ID, i, count, INFO, {
        ...FAST,
        random,
        now: () => Date.now(),
      }),
  );
  const verified = await Promise.all(
    shards.map(async (progress, i) => {
      for (const event of shardEvents(i, agents)) {
        progress.on(event);
        await delay(random() * 6);
      }
      return progress.flush({ status: i === 1 ? 'failed' : 'completed' });
    }),
  );
  return { shards, verified };
}

describe('one progress comment, updated by every shard', () => {
  test.each([1, 2, 3, 4, 5, 6])(
    'three shards writing at once on an adversarial stand-in: every final state is in the final comment (seed %i)',
    async (seed) => {
      const random = seeded(seed * 7919);
      const standIn = new CommentStandIn(runProgress(emptyProgress(), INFO), () => random() * 12);
      const { verified } = await runShards(standIn, 3, seed);
      expect(verified).toEqual([true, true, true]);
      const final = standIn.states();
      expect(final.map((s) => [s.index, s.status, s.done, s.tokens])).toEqual([
        [0, 'completed', 6, 600],
        [1, 'failed', 6, 1200],
        [2, 'completed', 6, 1800],
      ]);
      // Concurrent writers did overwrite each other on the way (the stand-in loses what it is told to).
      expect(standIn.writes).toBeGreaterThan(3);
      // The totals row is the sum of the shards' rows.
      expect(standIn.body).toContain('| **all** | 3 of 3 ended | | 0 · 18 · 0 | 3.6k | $0.1800 | |');
    },
  );

  test('the stand-in loses updates: plain read-modify-write shards (no check after writing) end with a shard missing', async () => {
    // The control: what the check after writing is for. Shards that read, merge and write once each.
    let lost = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const random = seeded(seed);
      const standIn = new CommentStandIn(runProgress(emptyProgress(), INFO), () => random() * 12);
      await Promise.all(
        [0, 1, 2].map(async (index) => {
          const read = await standIn.getComment(COMMENT_ID);
          const others = (readMarker('run', read!, [BOT])?.shards ?? []).filter((s) => s.index !== index);
          const own = { ...state(index), status: 'completed' as const };
          await standIn.updateComment(
            COMMENT_ID,
            shardedProgress({ count: 3, states: [...others, own], info: INFO }),
          );
        }),
      );
      if (standIn.states().length < 3) lost++;
    }
    expect(lost).toBeGreaterThan(0);
  });

  test('a stale write that lands after a shard wrote is seen by its check and repaired', async () => {
    const standIn = new CommentStandIn(runProgress(emptyProgress(), INFO), () => 0);
    // Shard 0 read the comment before shard 1 wrote; its write lands 10 ms after shard 1's.
    const stale = shardedProgress({ count: 2, states: [state(0)], info: INFO });
    const update = standIn.updateComment.bind(standIn);
    let first = true;
    standIn.updateComment = async (id, body) => {
      await update(id, body);
      if (first) {
        first = false;
        setTimeout(() => void update(id, stale), 10);
      }
    };
    const progress = new ShardProgress(standIn, COMMENT_ID, 1, 2, INFO, FAST);
    expect(await progress.flush({ status: 'completed', tokens: 450, usd: 0.03 })).toBe(true);
    expect(standIn.landed[1]).toBe(stale);
    const final = standIn.states();
    // Shard 1's state is back, and shard 0's (read from the stale write) is kept beside it.
    expect(final.map((s) => [s.index, s.status, s.tokens])).toEqual([
      [0, 'running', 500],
      [1, 'completed', 450],
    ]);
  });

  test('an older version of another shard never replaces a newer one this shard has seen', async () => {
    const newer = { ...state(0), version: 20, done: 9 };
    const older = { ...state(0), version: 10, done: 2 };
    const standIn = new CommentStandIn(shardedProgress({ count: 2, states: [newer], info: INFO }), () => 0);
    const progress = new ShardProgress(standIn, COMMENT_ID, 1, 2, INFO, { ...FAST, verifyDelayMs: 1 });
    expect(await progress.flush({ status: 'running' })).toBe(true);
    standIn.body = shardedProgress({ count: 2, states: [older], info: INFO });
    expect(await progress.flush({ status: 'completed' })).toBe(true);
    expect(standIn.states().find((s) => s.index === 0)?.done).toBe(9);
  });

  test("a comment someone else wrote, or another plan's, gives no shard states", async () => {
    const forged = shardedProgress({ count: 2, states: [{ ...state(0), done: 99 }], info: INFO });
    const standIn = new CommentStandIn(forged, () => 0, 'mallory');
    const progress = new ShardProgress(standIn, COMMENT_ID, 1, 2, INFO, { ...FAST, verifyDelayMs: 1 });
    // Its own check reads the comment back the same way, so it cannot verify either.
    expect(await progress.flush({ status: 'completed' })).toBe(false);
    expect(readMarker('run', { body: standIn.body, user: { login: BOT } }, [BOT])?.shards).toEqual([
      expect.objectContaining({ index: 1, status: 'completed' }),
    ]);
    const otherPlan = new CommentStandIn(
      shardedProgress({ count: 2, states: [state(0)], info: { ...INFO, planId: 'plan-1' } }),
      () => 0,
    );
    await new ShardProgress(otherPlan, COMMENT_ID, 1, 2, INFO, { ...FAST, verifyDelayMs: 1 }).flush({
      status: 'completed',
    });
    expect(otherPlan.states().map((s) => s.index)).toEqual([1]);
  });

  test('a failed read or write never throws into the run: the update reports it was not written', async () => {
    const broken = {
      getComment: async () => {
        throw new Error('HTTP 502');
      },
      updateComment: async () => {
        throw new Error('HTTP 502');
      },
    };
    const progress = new ShardProgress(broken, COMMENT_ID, 0, 2, INFO, FAST);
    for (const event of shardEvents(0, 2)) progress.on(event);
    expect(await progress.flush({ status: 'completed' })).toBe(false);
  });

  test('while the run goes on, at most one update per interval', async () => {
    let now = 0;
    const standIn = new CommentStandIn(runProgress(emptyProgress(), INFO), () => 0);
    const progress = new ShardProgress(standIn, COMMENT_ID, 0, 2, INFO, {
      ...FAST,
      verifyDelayMs: 0,
      jitterMs: 0,
      intervalMs: 10_000,
      now: () => now,
    });
    for (const event of shardEvents(0, 50)) {
      progress.on(event);
      now += 10;
    }
    await progress.flush({ status: 'completed' });
    // The first event and the last update: the timer of the ones between never fired.
    expect(standIn.writes).toBe(2);
    expect(standIn.states()[0]).toMatchObject({ index: 0, done: 50, status: 'completed' });
  });

  test('by default a shard updates every 30 s times the count: the run calls GitHub as often however many shards', async () => {
    let now = 0;
    const standIn = new CommentStandIn(runProgress(emptyProgress(), INFO), () => 0);
    const calls = { read: 0, write: 0 };
    const counted = {
      getComment: (id: number) => {
        calls.read++;
        return standIn.getComment(id);
      },
      updateComment: (id: number, body: string) => {
        calls.write++;
        return standIn.updateComment(id, body);
      },
    };
    const progress = new ShardProgress(counted, COMMENT_ID, 0, 3, INFO, {
      verifyDelayMs: 0,
      jitterMs: 0,
      now: () => now,
    });
    // 200 seconds of events, one a second: updates at 0, 90 and 180 s, then the last one.
    for (const event of shardEvents(0, 66)) {
      progress.on(event);
      now += 1000;
      await delay(0);
    }
    expect(now).toBe(200_000);
    await progress.flush({ status: 'completed' });
    expect(calls).toEqual({ read: 8, write: 4 });
  });

  test("on a resume, the shards completed before stay in the comment through the other shards' updates", async () => {
    const before = shardDoneBefore(0, { done: 7, tokens: 900, usd: 0.05 });
    expect(before.phase.length).toBeLessThanOrEqual(MAX_SHARD_PHASE);
    const standIn = new CommentStandIn(shardedProgress({ count: 2, states: [before], info: INFO }), () => 0);
    const progress = new ShardProgress(standIn, COMMENT_ID, 1, 2, INFO, { ...FAST, verifyDelayMs: 1 });
    for (const event of shardEvents(1, 2)) progress.on(event);
    expect(await progress.flush({ status: 'completed' })).toBe(true);
    expect(standIn.states()).toEqual([before, expect.objectContaining({ index: 1, status: 'completed' })]);
    expect(standIn.body).toContain(
      '| 0 | completed | completed in an earlier run | 0 · 7 · 0 | 900 | $0.0500 | 0.0s |',
    );
    expect(standIn.body).toContain('2 of 2 ended');
  });

  test('a shard that is not one of the run is a clear error', () => {
    const standIn = new CommentStandIn('', () => 0);
    expect(() => new ShardProgress(standIn, COMMENT_ID, 3, 3, INFO)).toThrow(
      "shard 3 is not one of the run's 3 shards (0 to 2)",
    );
  });
});

function state(index: number, over: Partial<ShardState> = {}): ShardState {
  return {
    index,
    version: 1,
    status: 'running',
    phase: 'review',
    running: 1,
    done: 2,
    failed: 0,
    queued: 0,
    tokens: 500,
    usd: 0.02,
    t: 1500,
    ...over,
  };
}

describe('the sharded progress comment', () => {
  test('a row per shard, waiting until it writes; the totals; the run marker with every state', () => {
    const body = shardedProgress({
      count: 3,
      states: [state(2, { status: 'completed', running: 0 }), state(0, { usd: null })],
      info: INFO,
      runId: '20261126-080000-shard0',
    });
    expect(body).toBe(
      [
        '**Running plan `plan-9` in 3 shards** ([job](https://github.com/o/r/actions/runs/77)): 1 of 3 ended.',
        '',
        '| Shard | State | Phase | Agents (running · done · failed) | Tokens | Dollars | Time |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| 0 | running | review | 1 · 2 · 0 | 500 | – | 1.5s |',
        '| 1 | waiting | | | | | |',
        '| 2 | completed | review | 0 · 2 · 0 | 500 | $0.0200 | 1.5s |',
        '| **all** | 1 of 3 ended | | 1 · 4 · 0 | 1.0k | $0.0200 | |',
        '',
        `<!-- dynamic-workflows:run ${JSON.stringify({
          planId: 'plan-9',
          runId: '20261126-080000-shard0',
          actionsRunId: '77',
          shards: [state(0, { usd: null }), state(2, { status: 'completed', running: 0 })],
        })} -->`,
      ].join('\n'),
    );
    // The marker names a shard's run and this Actions run: a run whose merge never wrote can be resumed.
    expect(readMarker('run', { body, user: { login: BOT } }, [BOT])).toMatchObject({
      planId: 'plan-9',
      runId: '20261126-080000-shard0',
      actionsRunId: '77',
    });
  });

  test("a phase cannot break the table or open an HTML comment, and a state's phase is kept short", () => {
    const body = shardedProgress({
      count: 1,
      states: [state(0, { phase: 'a | b <!-- x' })],
      info: INFO,
    });
    expect(body).toContain('| 0 | running | a \\| b <!‐‐ x |');
    expect(body.split('\n').filter((l) => l.startsWith('<!--'))).toHaveLength(1);
  });

  test('256 shards with the longest phases fit in one comment, and the rows are capped', async () => {
    const { shardStateOf } = await import('../../src/report/progress-state.js');
    const states = Array.from({ length: 256 }, (_, i) =>
      shardStateOf(i, 1_764_140_000_000 + i, i % 3 === 0 ? 'running' : 'completed', {
        ...emptyProgress(),
        phase: `${'--'.repeat(30)}${'x'.repeat(100)}`,
        running: 16,
        done: 12345,
        failed: 123,
        queued: 999,
        tokens: 123_456_789,
        usd: 1234.56789012345,
        t: 21_599_999.123,
      }),
    );
    const body = shardedProgress({ count: 256, states, info: INFO, runId: '20261126-080000-abcdef' });
    expect(body.length).toBeLessThan(65_536);
    expect(body).toContain('216 more shards not listed: 170 completed, 46 running.');
    expect(readMarker('run', { body, user: { login: BOT } }, [BOT])?.shards).toHaveLength(256);
  });
});
