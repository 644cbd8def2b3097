import type { ModelProvider } from '../models/types.js';
import { createPlan, type Plan } from '../plan/plan.js';
import type { RunSettings } from './settings.js';

export interface PlanRequestOptions {
  /** `audit`, `bug-hunt`, `sweep`, `migrate TARGET`, `research QUESTION`, or a request in words. */
  request: string;
  /** Arguments merged over the planned ones (e.g. `rounds`, `known`). */
  args?: Record<string, unknown>;
  /** Writes scripts for requests in words (the settings' provider, where the door has a real model). */
  author?: ModelProvider;
  /** The model the estimate is priced as; default: the settings' provider's model. */
  pricedAs?: string;
  /** Run the test command once to see whether it passes today (the plan job and `dwf plan --baseline`). */
  baseline?: boolean;
}

/** Plans a request with the settings every door builds the same way. */
export function planRequest(settings: RunSettings, o: PlanRequestOptions): Promise<Plan> {
  const { provider, oracle, scope } = settings;
  return createPlan({
    repoDir: settings.repoDir,
    request: o.request,
    model: o.pricedAs ?? provider.modelFor(provider.defaultModel),
    ...(o.author ? { author: o.author } : {}),
    ...(o.args ? { args: o.args } : {}),
    ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    ...(settings.maxAgents !== undefined ? { maxAgents: settings.maxAgents } : {}),
    ...(settings.maxShards !== undefined ? { maxShards: settings.maxShards } : {}),
    ...(settings.shardTargetMinutes !== undefined ? { shardTargetMinutes: settings.shardTargetMinutes } : {}),
    budget: settings.budget,
    ...(oracle.command !== undefined ? { oracle: oracle.command } : {}),
    ...(scope.include.length > 0 ? { include: scope.include } : {}),
    ...(scope.exclude.length > 0 ? { exclude: scope.exclude } : {}),
    ...(o.baseline ? { baseline: true } : {}),
    isolation: settings.isolation,
    ...(settings.env ? { env: settings.env } : {}),
    ...(settings.secrets ? { secrets: settings.secrets } : {}),
  });
}
