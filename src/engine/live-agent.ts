import { isAbsolute, relative } from 'node:path';
import { committedFiles } from '../agents/git.js';
import { noRepoCode } from '../agents/isolation.js';
import { type AgentOutcome, runAgent } from '../agents/run-agent.js';
import { runTool, toolDefinitions } from '../agents/tools.js';
import type { Isolated } from '../agents/workspace.js';
import { costUsd, priceOf } from '../models/pricing.js';
import { repositoryMap } from '../models/repo-map.js';
import { type ModelFailure, type ToolCall, UNUSABLE_MODEL, type Usage, ZERO_USAGE } from '../models/types.js';
import { BudgetExhaustedError } from './budget.js';
import { budgetCheck, emit, onCommand, type RunContext, type ScriptScope } from './context.js';
import { type AgentStatus, failureReason, MAX_FAILURE_REASONS } from './events.js';
import type { JournalEntry } from './journal.js';
import type { AgentOptions } from './options.js';
import { pumpReplays } from './replay.js';
import { AgentTranscript } from './transcript.js';

/** What every event about one agent says of it. */
interface AgentBase {
  index: number;
  label?: string;
  phase?: string;
  model: string;
}

type Finished = Pick<AgentOutcome, 'status' | 'usage' | 'attempts'> & {
  error?: string;
  failure?: ModelFailure;
};

/** Why a failed or invalid agent failed, in a few words; what it means is kept for the run's error. */
function reasonOf(run: RunContext, outcome: Finished): string | undefined {
  if (outcome.status === 'invalid') return "the answer never fit the agent's schema";
  if (outcome.status !== 'failed') return undefined;
  const reason = outcome.failure?.reason ?? failureReason(outcome);
  if (outcome.failure && run.failureExplanations.size < MAX_FAILURE_REASONS) {
    run.failureExplanations.set(reason, outcome.failure.explanation);
  }
  return reason;
}

/**
 * A model that cannot be used (unreachable, the key refused, server errors) before any agent
 * got an answer: the agents still queued or retrying would fail alike, so the run is stopped
 * now and fails with why, instead of each agent waiting out its retries.
 */
function stopIfModelUnusable(run: RunContext, outcome: Finished): void {
  const failure = outcome.status === 'failed' ? outcome.failure : undefined;
  if (!failure || !UNUSABLE_MODEL.has(failure.kind)) return;
  if (run.digest.modelAnswers > 0 || run.unusableModel !== undefined) return;
  run.unusableModel = failure.explanation;
  run.stop.abort(new Error(`the model cannot be used: ${failure.explanation}`));
}

function finishAgent(run: RunContext, base: AgentBase, outcome: Finished, usd: number | null): void {
  const reason = reasonOf(run, outcome);
  const { index, label, phase, model } = base;
  const { status, usage, attempts, error } = outcome;
  run.ledger.record({ index, label, phase, model, status, usage, usd });
  // Absent parts are undefined, which JSON leaves out: no spread, for every agent.
  emit(run, {
    type: 'agent.finished',
    index,
    label,
    phase,
    status: status as AgentStatus,
    usage,
    usd,
    attempts,
    error,
    reason,
  });
  stopIfModelUnusable(run, outcome);
}

/** The agent's model and what its events say of it; refuses an agent the budget cannot cover. */
function admitAgent(run: RunContext, scope: ScriptScope, index: number, opts: AgentOptions): AgentBase {
  const { provider } = run.options;
  const phase = opts.phase ?? scope.phase;
  const phaseModel = scope.meta.phases?.find((p) => p.title === phase)?.model;
  const model = provider.modelFor(opts.model ?? phaseModel ?? provider.defaultModel);
  // One shape for every agent; an absent label or phase is undefined, which JSON leaves out.
  const base: AgentBase = { index, label: opts.label, phase, model };
  const refused = budgetCheck(run);
  if (refused) throw new BudgetExhaustedError(`agent() refused: ${refused}`);
  if (run.budget.totalUsd !== null && !priceOf(model)) {
    throw new Error(`agent(): model "${model}" has no known price, so the dollar budget cannot cover it`);
  }
  return base;
}

/**
 * The life of a live agent: queued under the concurrency cap, started if the budget allows, run
 * to its outcome, its isolated changes merged, its answer journaled. Resolves to the answer, or
 * null for an agent that was stopped or failed; throws for a refusal and an invalid answer.
 */
export async function runLiveAgent(
  run: RunContext,
  scope: ScriptScope,
  index: number,
  prompt: string,
  opts: AgentOptions,
  key: string,
): Promise<unknown> {
  const base = admitAgent(run, scope, index, opts);
  emit(run, { type: 'agent.queued', index, label: base.label, phase: base.phase, model: base.model });
  run.liveAgents++;
  let release: (() => void) | undefined;
  try {
    try {
      release = run.scheduler.tryAcquire(run.stop.signal) ?? (await run.scheduler.acquire(run.stop.signal));
    } catch {
      finishAgent(
        run,
        base,
        { status: 'stopped', usage: ZERO_USAGE, attempts: 0, error: 'the run was stopped' },
        null,
      );
      return null;
    }
    const late = budgetCheck(run);
    if (late) {
      finishAgent(run, base, { status: 'stopped', usage: ZERO_USAGE, attempts: 0, error: late }, null);
      throw new BudgetExhaustedError(`agent() refused: ${late}`);
    }
    emit(run, { type: 'agent.started', index, label: base.label, phase: base.phase, model: base.model });
    return await runStartedAgent(run, base, prompt, opts, key);
  } finally {
    release?.();
    run.liveAgents--;
    pumpReplays(run);
  }
}

/** An agent that holds a slot: runs it, merges its isolated changes and records its outcome. */
async function runStartedAgent(
  run: RunContext,
  base: AgentBase,
  prompt: string,
  opts: AgentOptions,
  key: string,
): Promise<unknown> {
  const { index, model } = base;
  let usd: number | null = priceOf(model) ? 0 : null;
  const tools = run.workspace
    ? agentTools(run, index, opts.isolation === 'worktree', opts.definition?.tools)
    : undefined;
  const transcript = new AgentTranscript(run, base, prompt, {
    schema: opts.schema,
    tools: tools?.definitions.map((d) => d.name),
  });
  const outcome = await runAgent(
    {
      prompt,
      index,
      label: base.label,
      phase: base.phase,
      model,
      effort: opts.effort || undefined,
      schema: opts.schema || undefined,
      instructions: opts.definition?.prompt || undefined,
    },
    {
      provider: run.options.provider,
      signal: run.stop.signal,
      stopReason: () => budgetCheck(run),
      onUsage: (usage: Usage, answeredBy: string) => {
        const cost = costUsd(answeredBy, usage);
        if (cost !== null) usd = (usd ?? 0) + cost;
        run.budget.charge(usage, cost);
        budgetCheck(run);
      },
      onTurn: ({ turn, usage, model: answeredBy, retries, tools: asked }) =>
        emit(run, { type: 'agent.turn', index, turn, usage, model: answeredBy, retries, tools: asked }),
      onRetry: (notice) =>
        emit(run, {
          type: 'agent.retry',
          index,
          ...(base.label !== undefined ? { label: base.label } : {}),
          ...notice,
        }),
      onTrace: (entry) => transcript.record(entry),
      tools,
      maxTurns: run.options.workspace?.maxTurns || undefined,
      repositoryMap: run.options.workspace ? await runRepositoryMap(run) : undefined,
    },
  );
  transcript.end(outcome, usd);
  const isolated = await tools?.isolated();
  if (isolated) {
    const merged = await isolated.finish();
    if (merged.conflict) emit(run, { type: 'changes.conflict', index, error: merged.conflict });
    else if (merged.changed.length > 0) emit(run, { type: 'changes.merged', index, files: merged.changed });
  }
  finishAgent(run, base, outcome, usd);
  if (outcome.status === 'completed') {
    // An answer is kept in the journal (uploaded as an artifact) and flows on into prompts and the
    // report: a secret in it is redacted here, once, so a replay gives the same value.
    const result = run.redactor.redactValue(outcome.result);
    const { label, phase } = base;
    run.journal.append({
      index,
      label,
      phase,
      model,
      key,
      result,
      usage: outcome.usage,
      usd,
    } satisfies JournalEntry);
    return result;
  }
  if (outcome.status === 'invalid') throw new Error(outcome.error);
  return null;
}

/**
 * An agent's tools. Its working copy is set up at its first tool call, so agents that never
 * touch the repository (and runs under `sim`) create no worktree.
 */
/** The agent's tools in its workspace; `only` (an agent definition's subset) limits what it is offered and may run. */
function agentTools(run: RunContext, index: number, isolate: boolean, only?: readonly string[]) {
  const config = run.options.workspace!;
  const workspace = run.workspace!;
  const base = {
    agentIndex: index,
    workspace,
    redactor: run.redactor,
    runner: run.runner ?? noRepoCode,
    allowedCommands: config.allowedCommands ?? [],
    ...(config.oracle ? { oracle: config.oracle } : {}),
    commandTimeoutMs: config.commandTimeoutMs ?? 120_000,
    signal: run.stop.signal,
    onCommand: onCommand(run, index),
  };
  let own: Promise<Isolated | undefined> | undefined;
  let root: Promise<string> | undefined;
  const workingCopy = () => {
    root ??= (async () => {
      if (isolate) own = workspace.isolate(index);
      return (await own)?.root ?? (await workspace.root());
    })();
    return root;
  };
  return {
    definitions: toolDefinitions(base).filter((d) => !only || only.includes(d.name)),
    run: async (call: ToolCall) =>
      only && !only.includes(call.name)
        ? {
            content: `refused: ${call.name} is not among this agent's tools (${only.join(', ')})`,
            isError: true,
          }
        : runTool(call, { ...base, root: await workingCopy() }),
    isolated: async () => (own ? await own : undefined),
  };
}

/**
 * The repository's map from its committed files (outside git: what the directory holds, but the
 * runs), made at the run's first agent and shared by the rest.
 */
function runRepositoryMap(run: RunContext): Promise<string> {
  run.repositoryMap ??= (() => {
    const repoDir = run.options.workspace!.repoDir;
    const runs = relative(repoDir, run.options.runsDir);
    return committedFiles(repoDir).then((files) =>
      repositoryMap(repoDir, { files, exclude: runs.startsWith('..') || isAbsolute(runs) ? [] : [runs] }),
    );
  })();
  return run.repositoryMap;
}
