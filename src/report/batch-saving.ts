import type { UsageTotals } from '../engine/usage.js';
import { batchSavingUsd } from '../models/pricing.js';
import { billedTokens } from '../models/types.js';
import { formatUsd } from './format.js';

/**
 * What the Message Batches API saved a run: the batched part of each model's usage (`usage.batch`)
 * billed at half price, against what the same tokens cost at standard prices. Nothing when no
 * request went through a batch (or no batched model has a known price).
 */
export function batchSavingLines(usage: {
  totals: UsageTotals;
  byModel: Record<string, UsageTotals>;
}): string[] {
  let saved = 0;
  let batched = 0;
  for (const [model, u] of Object.entries(usage.byModel)) {
    if (!u.batch) continue;
    const saving = batchSavingUsd(model, u);
    if (saving === null) continue;
    saved += saving;
    batched += billedTokens(u.batch);
  }
  const paid = usage.totals.usd;
  if (batched === 0 || paid === null) return [];
  return [
    `Batch API: ${formatUsd(paid)} instead of ${formatUsd(paid + saved)} at standard prices (saved ${formatUsd(saved)}).`,
  ];
}
