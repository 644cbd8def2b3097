import { billedTokens, type Usage } from '../models/types.js';

/** `agent()` refused because the budget is spent; its kind stops the run (see HostErrorKind). */
export class BudgetExhaustedError extends Error {
  readonly kind = 'budget' as const;

  constructor(message: string) {
    super(message);
    this.name = 'BudgetExhaustedError';
  }
}

/**
 * A hard ceiling in tokens and/or dollars. Tokens count everything the API bills: input, cache
 * writes, cache reads and output. Once spent reaches the total, no new agent or model call starts;
 * calls already in flight finish and are counted.
 */
export class Budget {
  private tokens = 0;
  private usd = 0;

  constructor(
    readonly totalTokens: number | null,
    readonly totalUsd: number | null,
  ) {}

  charge(usage: Usage, usd: number | null): void {
    this.tokens += billedTokens(usage);
    if (usd !== null) this.usd += usd;
  }

  get spentTokens(): number {
    return this.tokens;
  }

  get spentUsd(): number {
    return this.usd;
  }

  remainingTokens(): number | null {
    return this.totalTokens === null ? null : Math.max(0, this.totalTokens - this.tokens);
  }

  /** Why nothing more may start, or undefined while there is budget left. */
  exhaustedReason(): string | undefined {
    if (this.totalTokens !== null && this.tokens >= this.totalTokens) {
      return `token budget exhausted: ${this.tokens} of ${this.totalTokens} tokens spent`;
    }
    if (this.totalUsd !== null && this.usd >= this.totalUsd) {
      return `dollar budget exhausted: $${this.usd.toFixed(4)} of $${this.totalUsd.toFixed(2)} spent`;
    }
    return undefined;
  }
}
