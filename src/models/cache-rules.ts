import { hash } from 'node:crypto';
import type { Usage } from './types.js';

/**
 * Prompt caching as the Messages API bills it, for the offline models (the estimate's dry runs).
 * The rules, from Anthropic's prompt-caching documentation:
 * - the prompt is one prefix in the order tools, system, messages; a `cache_control` block ends a
 *   cacheable prefix (a breakpoint), at most four of them;
 * - at each breakpoint the API looks for a cached prefix ending there or at up to 20 block
 *   boundaries before it (the lookback), and reads the longest one found;
 * - the tokens from there to the last breakpoint are written (billed as cache writes) when that
 *   prefix reaches the model's minimum (1024 tokens for Opus and Sonnet, 2048 for Haiku), each
 *   breakpoint's prefix becoming readable once the reply has started; shorter prefixes are billed
 *   as plain input and cached nowhere; what follows the last breakpoint is plain input;
 * - an entry lives its TTL (5 minutes, or 1 hour) from its last use: a read refreshes it.
 */

export const CACHE_LOOKBACK_BLOCKS = 20;
export const MAX_BREAKPOINTS = 4;

/** The smallest prefix the API caches for a model. */
export function minCacheTokens(model: string): number {
  return /haiku/i.test(model) ? 2048 : 1024;
}

export type CacheTtl = '5m' | '1h';

export const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** One block of the prompt, in prefix order: its tokens, its text (for the prefix's identity) and its breakpoint. */
export interface PromptBlock {
  tokens: number;
  text: string;
  cache?: CacheTtl;
}

export interface CacheBill {
  usage: Omit<Usage, 'outputTokens'>;
  /** Tokens written with the 1-hour TTL (priced at twice the input price); included in cacheWriteTokens. */
  cacheWrite1hTokens: number;
  /** Entries this request writes, readable once its reply has come back: commit them then. */
  writes: { key: string; ttl: CacheTtl }[];
}

/** The cache of one organisation and model: prefix key → expiry (ms). */
export class CacheRules {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly minTokens: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** What the API bills for a prompt given the cache as it is now; reads refresh the entries they hit. */
  bill(blocks: PromptBlock[]): CacheBill {
    const keys: string[] = [];
    const through: number[] = [];
    let running = '';
    let tokens = 0;
    for (const block of blocks) {
      running = hash('sha256', `${running}\0${block.text}`, 'hex');
      keys.push(running);
      tokens += block.tokens;
      through.push(tokens);
    }
    const total = tokens;
    const breakpoints = blocks.flatMap((b, i) => (b.cache ? [i] : [])).slice(-MAX_BREAKPOINTS);
    const now = this.now();
    let readEnd = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - CACHE_LOOKBACK_BLOCKS); i--) {
        const expiry = this.entries.get(keys[i]!);
        if (expiry !== undefined && expiry > now) {
          if (i > readEnd) readEnd = i;
          break;
        }
      }
    }
    const read = readEnd >= 0 ? through[readEnd]! : 0;
    if (readEnd >= 0) {
      // A hit refreshes the entry for its TTL (which TTL it was written with is kept as its length).
      const ttl = blocks.slice(0, readEnd + 1).some((b) => b.cache === '1h') ? '1h' : '5m';
      this.entries.set(keys[readEnd]!, now + TTL_MS[ttl]);
    }
    const last = breakpoints[breakpoints.length - 1];
    const writes: CacheBill['writes'] = [];
    let written = 0;
    let written1h = 0;
    if (last !== undefined && last > readEnd && through[last]! >= this.minTokens) {
      let from = read;
      for (const bp of breakpoints) {
        if (bp <= readEnd) continue;
        const ttl = blocks[bp]!.cache!;
        const size = through[bp]! - from;
        if (through[bp]! >= this.minTokens) {
          writes.push({ key: keys[bp]!, ttl });
          if (ttl === '1h') written1h += size;
        }
        from = through[bp]!;
      }
      written = through[last]! - read;
    }
    return {
      usage: { inputTokens: total - read - written, cacheReadTokens: read, cacheWriteTokens: written },
      cacheWrite1hTokens: written1h,
      writes,
    };
  }

  /** Makes a request's writes readable: call when its reply arrives. */
  commit(writes: CacheBill['writes']): void {
    const now = this.now();
    for (const w of writes) this.entries.set(w.key, now + TTL_MS[w.ttl]);
  }
}
