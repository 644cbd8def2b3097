import type { Usage } from '../models/types.js';

export type AgentStatus = 'completed' | 'failed' | 'stopped' | 'invalid';
export type RunStatus = 'completed' | 'failed' | 'stopped';

interface Base {
  /** Milliseconds since the run started. */
  t: number;
}

export type RunEvent = Base &
  (
    | {
        type: 'run.started';
        runId: string;
        name: string;
        resumedFrom?: string;
        concurrency: number;
        maxAgents: number;
      }
    | { type: 'phase'; phase: string }
    | { type: 'log'; message: string; phase?: string }
    | { type: 'agent.queued'; index: number; label?: string; phase?: string }
    | { type: 'agent.refused'; index: number; reason: string }
    | { type: 'agent.started'; index: number; label?: string; phase?: string; model: string }
    | {
        type: 'agent.finished';
        index: number;
        label?: string;
        phase?: string;
        status: AgentStatus;
        usage: Usage;
        usd: number | null;
        replayed?: true;
        attempts?: number;
        error?: string;
      }
    | {
        type: 'agent.turn';
        index: number;
        turn: number;
        model: string;
        usage: Usage;
        retries: number;
        tools: string[];
      }
    | {
        type: 'command';
        index?: number;
        command: string;
        exitCode: number;
        durationMs: number;
        source: 'agent' | 'oracle';
      }
    | { type: 'oracle'; passed: boolean; exitCode: number; summary: string; durationMs: number }
    | { type: 'changes.merged'; index: number; files: string[] }
    | { type: 'changes.conflict'; index: number; error: string }
    | { type: 'item.failed'; where: string; error: string; phase?: string }
    | { type: 'workflow.started'; name: string; phase?: string }
    | { type: 'workflow.finished'; name: string; ok: boolean; error?: string }
    | { type: 'budget.exhausted'; reason: string }
    | { type: 'run.finished'; status: RunStatus; error?: string; branch?: string }
  );

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RunEventInput = DistributiveOmit<RunEvent, 't'>;
