import { emit, type RunContext } from './context.js';
import type { JournalEntry } from './journal.js';

/**
 * Hands the next replayed result over, one per macrotask, once every script has reacted to the
 * one before (and, past the journal's end of order, once no live agent or other call is left).
 */
export function pumpReplays(run: RunContext): void {
  if (run.pumpScheduled || run.replayer.pending === 0) return;
  run.pumpScheduled = true;
  setImmediate(() => {
    run.pumpScheduled = false;
    if (run.guestTurns.pending > 0) return pumpReplays(run);
    if (run.replayer.deliverNext(run.liveAgents === 0 && run.otherCalls === 0)) pumpReplays(run);
  });
}

/** A replayed agent: its journaled answer, counted and journaled again, in the original order. */
export function replayAgent(run: RunContext, index: number): Promise<unknown> {
  return new Promise((resolve) => {
    run.replayer.wait(index, (entry: JournalEntry) => {
      run.budget.charge(entry.usage, entry.usd);
      run.ledger.recordReplayed(entry.usage, entry.usd);
      run.journal.append(entry);
      emit(run, {
        type: 'agent.finished',
        index,
        ...(entry.label !== undefined ? { label: entry.label } : {}),
        ...(entry.phase !== undefined ? { phase: entry.phase } : {}),
        status: 'completed',
        usage: entry.usage,
        usd: entry.usd,
        replayed: true,
      });
      resolve(entry.result);
    });
    pumpReplays(run);
  });
}
