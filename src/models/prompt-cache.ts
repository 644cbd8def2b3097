import { hash } from 'node:crypto';
import { estimateTokens, type ModelRequest, messageText, type Usage } from './types.js';

/** Anthropic does not cache a prefix shorter than this (Sonnet and Opus; Haiku needs more). */
export const MIN_CACHEABLE_TOKENS = 1024;

interface Estimate {
  usage: Omit<Usage, 'outputTokens'>;
  /** Prefixes this request writes to the cache, readable once its reply has come back. */
  writes: string[];
}

/** The hash of the parts, each ended by a NUL (one-shot: cheaper than a Hash object). */
function digest(parts: string[]): string {
  return hash('sha256', `${parts.join('\0')}\0`, 'hex');
}

/**
 * Estimates how the API would bill a request's input under prompt caching, for the offline models:
 * the request carries breakpoints at the end of the system prompt (with the tools: the prefix
 * siblings share) and at the end of the conversation (the previous turn's whole prompt is a prefix
 * of this one). A prefix is readable once the request that wrote it has been answered, so siblings
 * sent together all pay to write it, as they would for real.
 */
export class PromptCacheEstimator {
  private readonly cached = new Set<string>();

  constructor(private readonly minTokens = MIN_CACHEABLE_TOKENS) {}

  estimate(request: Pick<ModelRequest, 'system' | 'tools' | 'messages'>): Estimate {
    const head = request.system + (request.tools ? JSON.stringify(request.tools) : '');
    const texts = request.messages.map((m) => `${m.role}:${messageText(m)}`);
    // through[n]: the tokens of the head and the first n messages.
    const through = [estimateTokens(head)];
    for (const text of texts) through.push(through[through.length - 1]! + estimateTokens(text));
    const headTokens = through[0]!;
    const total = through[texts.length]!;
    const key = (n: number) => digest([head, ...texts.slice(0, n)]);

    // The longest prefix readable now: an earlier turn's whole prompt, else the shared head. Only a
    // prefix of at least the minimum was ever written, so shorter ones are not even looked up.
    let read = 0;
    for (let n = texts.length - 1; n >= 0 && read === 0 && through[n]! >= this.minTokens; n--) {
      if (this.cached.has(key(n))) read = through[n]!;
    }
    const writes: string[] = [];
    if (total >= this.minTokens) writes.push(key(texts.length));
    if (headTokens >= this.minTokens) writes.push(key(0));
    const written = total >= this.minTokens ? total - read : 0;
    return {
      usage: { inputTokens: total - read - written, cacheReadTokens: read, cacheWriteTokens: written },
      writes,
    };
  }

  /** Makes a request's prefixes readable: call when its reply arrives. */
  commit(writes: string[]): void {
    for (const key of writes) this.cached.add(key);
  }
}
