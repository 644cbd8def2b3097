import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Usage } from '../models/types.js';
import { readJsonLines } from './run-dir.js';

/** One completed agent call, appended when it completes (so file order is completion order). */
export interface JournalEntry {
  index: number;
  key: string;
  label?: string;
  phase?: string;
  model: string;
  result: unknown;
  usage: Usage;
  usd: number | null;
}

/** The identity of an agent call: what was asked and how. A changed prompt or option is a new call. */
export function agentKey(call: { prompt: string; options: object; phase?: string }): string {
  // One-shot hash: a third of the cost of a Hash object, for every agent() call.
  return hash('sha256', JSON.stringify([call.prompt, call.options, call.phase ?? null]), 'hex');
}

export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  return readJsonLines<JournalEntry>(path);
}

/**
 * Replays the longest unchanged prefix of a journal, in agent start order. Results are handed back
 * in the order the original run received them, so the script starts its later agents with the same
 * indices as before; the first call that differs, failed or never finished ends the replay, and it
 * and every later call run live.
 */
export class Replayer {
  private readonly byIndex = new Map<number, JournalEntry>();
  private readonly order: JournalEntry[];
  private cursor = 0;
  private readonly waiting = new Map<number, (entry: JournalEntry) => void>();
  private matching: boolean;

  constructor(entries: JournalEntry[]) {
    for (const entry of entries) this.byIndex.set(entry.index, entry);
    this.order = entries;
    this.matching = entries.length > 0;
  }

  /** The journal entry that answers this call, or undefined when the call must run live. */
  match(index: number, key: string): JournalEntry | undefined {
    if (!this.matching) return undefined;
    const entry = this.byIndex.get(index);
    if (entry && entry.key === key) return entry;
    this.matching = false;
    return undefined;
  }

  get replaying(): boolean {
    return this.matching;
  }

  /** Registers a matched call; `deliver` is called when its turn comes. */
  wait(index: number, deliver: (entry: JournalEntry) => void): void {
    this.waiting.set(index, deliver);
  }

  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Hands back at most one result, the next in the original order, and says whether it did.
   * `idle` means nothing but a replayed result can move the script on; then, if the next result
   * in order was never asked for, the script has changed and the rest go back in any order.
   */
  deliverNext(idle: boolean): boolean {
    while (this.cursor < this.order.length) {
      const entry = this.order[this.cursor]!;
      const deliver = this.waiting.get(entry.index);
      if (deliver) {
        this.waiting.delete(entry.index);
        this.cursor++;
        deliver(entry);
        return true;
      }
      if (!this.matching) {
        this.cursor++;
        continue;
      }
      if (idle && this.waiting.size > 0) {
        this.matching = false;
        continue;
      }
      return false;
    }
    return false;
  }
}
