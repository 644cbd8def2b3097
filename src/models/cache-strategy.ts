import { hash } from 'node:crypto';
import type { CacheTtl } from './cache-rules.js';
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
  ttl: CacheTtl;
}

export const DEFAULT_CACHE_STRATEGY: CacheStrategy = { enabled: true, tail: 'smart', ttl: '5m' };

/** Reads the strategy from `DWF_PROMPT_CACHE` (`off`, `every-turn`, `skip-second`, `no-tail`; default smart). */
export function cacheStrategyFromEnv(env: NodeJS.ProcessEnv = process.env): CacheStrategy {
  const value = env.DWF_PROMPT_CACHE;
  if (value === 'off') return { ...DEFAULT_CACHE_STRATEGY, enabled: false };
  if (value === 'every-turn') return { ...DEFAULT_CACHE_STRATEGY, tail: 'every-turn' };
  if (value === 'skip-second') return { ...DEFAULT_CACHE_STRATEGY, tail: 'skip-second' };
  if (value === 'no-tail') return { ...DEFAULT_CACHE_STRATEGY, tail: 'none' };
  return DEFAULT_CACHE_STRATEGY;
}

export interface Breakpoints {
  head: boolean;
  /** The index of the message whose last block carries the tail breakpoint, or -1. */
  tailMessage: number;
  ttl: CacheTtl;
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
): Breakpoints {
  const { ttl } = strategy;
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
