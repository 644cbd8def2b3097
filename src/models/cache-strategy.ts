import { hash } from 'node:crypto';
import { type CacheTtl, TTL_MS } from './cache-rules.js';
import type { ChatMessage } from './types.js';

/**
 * Where a request puts its cache breakpoints, decided from the request alone (pure functions, so
 * that the real provider and the estimate's simulated one place them the same way).
 *
 * - `head`: the end of the system prompt. Tools and system (the preamble, the repository map, the
 *   answer's schema) are what every sibling of a fan-out shares: the first sibling writes it, the
 *   others read it (see `CacheWarmer`).
 * - `tail`: a breakpoint in the conversation. A turn that will be followed by another should write
 *   its whole prompt (the next turn reads it at a tenth of the price); a turn that is expected to be
 *   the last should not (a write costs 1.25× and would never be read), but can still read what the
 *   previous turn wrote, by putting its breakpoint where that turn's prompt ended.
 *
 * Which turns are expected to be the last: a request that offers no tools (an agent without
 * tools, or the loop's last turn, where the tools are withdrawn) is answered at once. A turn that
 * offers tools may well be followed by another: the measurement found the tail write of an
 * agent's second turn never read when agents answer right after reading one file, but agents that
 * follow imports, search for callers, edit and test go on, and `npm run bench:cost` measured, on a
 * 45-file Go audit against the diligent test server, writing every tool turn at $1.52 against
 * $1.75 for skipping the second turn's write (`skip-second`) and $4.14 without caching. So the
 * default writes every turn that offers tools, and never one that does not.
 */

export type TailPolicy = 'smart' | 'skip-second' | 'every-turn' | 'none';

export interface CacheStrategy {
  /** False: no breakpoints at all (the `caching off` comparison). */
  enabled: boolean;
  tail: TailPolicy;
  /** `auto`: chosen per phase by `TtlChooser`; `5m` or `1h`: every breakpoint, whatever the phase. */
  ttl: CacheTtl | 'auto';
}

export const DEFAULT_CACHE_STRATEGY: CacheStrategy = { enabled: true, tail: 'smart', ttl: 'auto' };

/**
 * Reads the strategy from `DWF_PROMPT_CACHE` (`off`, `every-turn`, `skip-second`, `no-tail`; default
 * smart) and `DWF_PROMPT_CACHE_TTL` (`5m`, `1h`; default auto).
 */
export function cacheStrategyFromEnv(env: NodeJS.ProcessEnv = process.env): CacheStrategy {
  const value = env.DWF_PROMPT_CACHE;
  const ttl = env.DWF_PROMPT_CACHE_TTL;
  const base: CacheStrategy =
    ttl === '5m' || ttl === '1h' ? { ...DEFAULT_CACHE_STRATEGY, ttl } : DEFAULT_CACHE_STRATEGY;
  if (value === 'off') return { ...base, enabled: false };
  if (value === 'every-turn') return { ...base, tail: 'every-turn' };
  if (value === 'skip-second') return { ...base, tail: 'skip-second' };
  if (value === 'no-tail') return { ...base, tail: 'none' };
  return base;
}

/** The TTL of each breakpoint of a request. The API wants a longer TTL before a shorter one. */
export interface Ttls {
  head: CacheTtl;
  tail: CacheTtl;
}

export interface Breakpoints {
  head: boolean;
  /** The index of the message whose last block carries the tail breakpoint, or -1. */
  tailMessage: number;
  ttl: Ttls;
}

const FIVE_MINUTES: Ttls = { head: '5m', tail: '5m' };

/**
 * The TTLs of a request: the strategy's when it fixes one, else those the chooser decided (5 minutes
 * without a chooser).
 */
export function ttlsOf(strategy: CacheStrategy, chosen: Ttls = FIVE_MINUTES): Ttls {
  return strategy.ttl === 'auto' ? chosen : { head: strategy.ttl, tail: strategy.ttl };
}

/**
 * A gap between two uses of a prefix this long or longer is taken to say that the phase outlives
 * the 5-minute TTL (an entry lives 5 minutes from its last use): the next gap is predicted from the
 * ones seen, and the 30 s are the margin for a next gap a little longer than the last.
 */
export const OUTLIVES_5M_MS = TTL_MS['5m'] - 30_000;

/**
 * Chooses the TTL per phase from what is known when a request is made: the gaps between the uses
 * of a prefix so far. A phase's shared head (tools and system) is used by each request of each
 * sibling; an agent's tail (its conversation) by each of its turns. Once a gap between two uses
 * of the same prefix has reached about 5 minutes (siblings started far apart: a long phase under a
 * concurrency cap, agents whose tools run for minutes, a batch's turn-around), the next use is
 * expected to come as late, after a 5-minute entry has expired: the prefix is written with the
 * 1-hour TTL from then on (2× the input price, once, against 1.25× at every use and no reads).
 * Until then, and in a phase whose uses follow each other closely, 5 minutes (a 1-hour write would
 * cost 0.75× the input price more, for nothing). The choice is sticky: a prefix once written for
 * an hour is not written again for 5 minutes. Checked by the cost model: test/cost/ttl.test.ts.
 */
export class TtlChooser {
  private readonly last = new Map<string, number>();
  private readonly long = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a use of the prefix `key`; true when it is expected to outlive 5 minutes. */
  private outlives(key: string): boolean {
    const now = this.now();
    const last = this.last.get(key);
    this.last.set(key, now);
    if (last !== undefined && now - last >= OUTLIVES_5M_MS) this.long.add(key);
    return this.long.has(key);
  }

  /** The TTLs of a request of `phase` whose head is `head` (see `headKey`), by agent `agent`. */
  choose(phase: string | undefined, head: string, agent: number): Ttls {
    const headLong = this.outlives(`head\0${phase ?? ''}\0${head}`);
    const tailLong = this.outlives(`agent\0${agent}\0${head}`);
    // A 1-hour tail after a 5-minute head is refused by the API: the head follows the tail up.
    return { head: headLong || tailLong ? '1h' : '5m', tail: tailLong ? '1h' : '5m' };
  }
}

/** The turn of the agent a request is for: one more than the answers it has given. */
export function turnOf(messages: ChatMessage[]): number {
  return messages.filter((m) => m.role === 'assistant').length + 1;
}

/** The breakpoints of one request; `offersTools`: whether the request offers the model any tool. */
export function placeBreakpoints(
  messages: ChatMessage[],
  strategy: CacheStrategy,
  offersTools = true,
  chosen?: Ttls,
): Breakpoints {
  const ttl = ttlsOf(strategy, chosen);
  if (!strategy.enabled) return { head: false, tailMessage: -1, ttl };
  if (strategy.tail === 'none') return { head: true, tailMessage: -1, ttl };
  const last = messages.length - 1;
  const expectedLast =
    (strategy.tail === 'smart' && !offersTools) ||
    (strategy.tail === 'skip-second' && turnOf(messages) === 2);
  if (!expectedLast) return { head: true, tailMessage: last, ttl };
  // Expected last: read what the previous turn wrote (its prompt ended two messages back), write nothing.
  return { head: true, tailMessage: last >= 2 ? last - 2 : -1, ttl };
}

/** The identity of the prefix siblings share: model, tools and system. */
export function headKey(model: string, system: string, tools: unknown): string {
  return hash('sha256', `${model}\0${system}\0${JSON.stringify(tools ?? [])}`, 'hex');
}

/**
 * Holds siblings back until the first of them has warmed the cache: the first request with a new
 * head goes at once; the others with the same head wait until it has been answered (or failed),
 * then go together and read the head from the cache instead of each writing it. Claude Code starts
 * its subagents the same way. A head under the cache minimum is never held (nothing to warm).
 */
export class CacheWarmer {
  private readonly warming = new Map<string, Promise<void>>();
  private readonly warm = new Set<string>();

  /** Waits if another request is warming this head; returns `done` to call when this request ends. */
  async enter(key: string, cacheable: boolean): Promise<() => void> {
    if (!cacheable || this.warm.has(key)) return () => {};
    const pending = this.warming.get(key);
    if (pending) {
      await pending;
      return () => {};
    }
    let finish!: () => void;
    this.warming.set(
      key,
      new Promise<void>((resolve) => {
        finish = resolve;
      }),
    );
    return () => {
      this.warm.add(key);
      this.warming.delete(key);
      finish();
    };
  }
}
