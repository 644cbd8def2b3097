import { addUsage, type BatchUsage, type Usage, ZERO_USAGE } from '../models/types.js';

export interface UsageTotals {
  agents: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Of cacheWriteTokens, those written for an hour (absent: none). */
  cacheWrite1hTokens?: number;
  /** Of all the tokens, those billed through the Message Batches API at half price (absent: none). */
  batch?: BatchUsage;
  /** Dollars, or null when no model used had a known price. */
  usd: number | null;
}

export interface AgentUsageRecord {
  index: number;
  label?: string;
  phase?: string;
  model: string;
  status: string;
  usage: Usage;
  usd: number | null;
}

class Tally {
  agents = 0;
  usage: Usage = ZERO_USAGE;
  usd: number | null = null;

  add(usage: Usage, usd: number | null, agents: number): void {
    this.agents += agents;
    this.usage = addUsage(this.usage, usage);
    if (usd !== null) this.usd = (this.usd ?? 0) + usd;
  }

  totals(): UsageTotals {
    return { agents: this.agents, ...this.usage, usd: this.usd === null ? null : roundUsd(this.usd) };
  }
}

function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/** What a run spent live, with breakdowns by phase, by model and per agent. */
export class UsageLedger {
  private readonly total = new Tally();
  private readonly phases = new Map<string, Tally>();
  private readonly models = new Map<string, Tally>();
  private readonly agents: AgentUsageRecord[] = [];
  private readonly unpriced = new Set<string>();
  private readonly replayed = new Tally();

  record(entry: AgentUsageRecord): void {
    this.agents.push(entry);
    this.total.add(entry.usage, entry.usd, 1);
    const phase = entry.phase ?? '(no phase)';
    if (!this.phases.has(phase)) this.phases.set(phase, new Tally());
    this.phases.get(phase)!.add(entry.usage, entry.usd, 1);
    if (!this.models.has(entry.model)) this.models.set(entry.model, new Tally());
    this.models.get(entry.model)!.add(entry.usage, entry.usd, 1);
    if (entry.usd === null && entry.usage !== ZERO_USAGE) this.unpriced.add(entry.model);
  }

  /** Agents answered from a journal cost nothing now; they are reported apart. */
  recordReplayed(usage: Usage, usd: number | null): void {
    this.replayed.add(usage, usd, 1);
  }

  totals(): UsageTotals {
    return this.total.totals();
  }

  toJSON() {
    const byKey = (map: Map<string, Tally>) =>
      Object.fromEntries([...map].map(([key, tally]) => [key, tally.totals()]));
    return {
      totals: this.totals(),
      byPhase: byKey(this.phases),
      byModel: byKey(this.models),
      unpricedModels: [...this.unpriced],
      replayedFromJournal: this.replayed.totals(),
      agents: [...this.agents].sort((a, b) => a.index - b.index),
    };
  }
}
