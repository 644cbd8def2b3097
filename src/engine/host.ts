import { unknownAgentType } from '../agents/agent-definitions.js';
import { checkScript, ScriptCheckError } from '../script/check.js';
import { HostError, type HostFunctions, hostBridge, isHostErrorKind } from '../script/host.js';
import { runInSandbox, type SandboxOutcome } from '../script/sandbox.js';
import { applyShard } from '../script/shard.js';
import { describeFailure, emit, flushLogs, type RunContext, type ScriptScope } from './context.js';
import { agentKey } from './journal.js';
import { runLiveAgent } from './live-agent.js';
import { type AgentOptions, agentOptions } from './options.js';
import { callOracle } from './oracle.js';
import { replayAgent } from './replay.js';

/**
 * The options with the definition `agentType` names (its model unless the call names one); an
 * unknown type is refused, as the run's start refuses one the script names literally.
 */
function withDefinition(run: RunContext, opts: AgentOptions): AgentOptions {
  if (opts.agentType === undefined) return opts;
  const definition = run.agentDefinitions.get(opts.agentType);
  if (!definition) {
    throw new RangeError(
      `agent(): ${unknownAgentType(opts.agentType, run.agentDefinitions.keys(), run.agentDefinitionDirs)}`,
    );
  }
  return {
    ...opts,
    definition,
    ...(opts.model === undefined && definition.model ? { model: definition.model } : {}),
  };
}

/** `agent()`: checks the call, then replays the agent from the journal or runs it live. */
function callAgent(
  run: RunContext,
  scope: ScriptScope,
  rawPrompt: unknown,
  rawOpts: unknown,
): Promise<unknown> {
  if (typeof rawPrompt !== 'string' || rawPrompt.trim() === '') {
    throw new TypeError('agent(prompt, opts?) needs a non-empty prompt string');
  }
  const opts = withDefinition(run, agentOptions(rawOpts));
  const index = run.nextIndex++;
  if (index >= run.maxAgents) {
    emit(run, { type: 'agent.refused', index, reason: `the agent cap of ${run.maxAgents} was reached` });
    throw new HostError(
      `agent cap reached: this run may start at most ${run.maxAgents} agents and this is agent #${index + 1}; ` +
        'raise maxAgents (up to 1000) or do the work in fewer agents',
      'limit',
    );
  }
  const phase = opts.phase ?? scope.phase;
  // The key holds what the definition says, not where it was read: a resume on another runner matches.
  const { definition } = opts;
  let options: object = opts;
  if (definition) {
    const { definition: _, ...keyed } = opts;
    options = { ...keyed, definition: { prompt: definition.prompt, tools: definition.tools ?? null } };
  }
  const key = agentKey({ prompt: rawPrompt, options, phase });
  const replaying = run.replayer.replaying;
  if (run.replayer.match(index, key)) return replayAgent(run, index);
  if (replaying) {
    // Says where the replay of a resumed run ends, whether the script changed or the run broke off there.
    emit(run, {
      type: 'log',
      message:
        `[dwf] agent #${index} is not in run ${run.options.resume}'s journal as asked now (its prompt, options or phase changed, ` +
        `or it did not finish there): ${index === 0 ? 'no agent was' : `agents before #${index} were`} replayed; it and every later agent run live`,
    });
  }
  const running = runLiveAgent(run, scope, index, rawPrompt, opts, key);
  run.inFlight.add(running);
  running.then(
    () => run.inFlight.delete(running),
    () => run.inFlight.delete(running),
  );
  return running;
}

/** `workflow()`: runs a saved workflow, one level deep, in a sandbox of its own. */
async function callWorkflow(
  run: RunContext,
  scope: ScriptScope,
  nameOrRef: unknown,
  args: unknown,
): Promise<unknown> {
  const { options, workspace } = run;
  if (scope.depth >= 1)
    throw new Error('workflow() is one level deep: a nested workflow cannot start another');
  if (!options.workflows) throw new Error('workflow(): no saved workflows are available to this run');
  const saved = options.workflows(nameOrRef);
  const nested = checkScript(saved.source);
  if (!nested.ok) throw new ScriptCheckError(saved.file, nested.diagnostics);
  const name = nested.meta.name;
  emit(run, { type: 'workflow.started', name, ...(scope.phase ? { phase: scope.phase } : {}) });
  // A resumed run starts from the files the earlier one left, even if no agent of it touches a file.
  if (workspace && options.resume !== undefined) await workspace.root();
  const outcome = await runScript(
    run,
    { name, meta: nested.meta, depth: scope.depth + 1, ...(scope.phase ? { phase: scope.phase } : {}) },
    nested.body,
    saved.file,
    args,
  );
  if (outcome.ok) {
    emit(run, { type: 'workflow.finished', name, ok: true });
    return outcome.value;
  }
  const error = describeFailure(saved.file, outcome.failure);
  emit(run, { type: 'workflow.finished', name, ok: false, error });
  // A nested workflow stopped by the budget stops its caller's script the same way.
  const { kind } = outcome.failure;
  const message = `workflow "${name}" failed: ${error}`;
  throw isHostErrorKind(kind) ? new HostError(message, kind) : new Error(message);
}

/** `shard()`: the script's arguments with this run's slice of the list, recorded for result.json. */
function callShard(run: RunContext, args: unknown, options: unknown): unknown {
  const sharded = applyShard(args, options, run.options.shard?.index);
  if (sharded.shard) {
    const { index, count, items, of } = sharded.shard;
    if (run.shard?.index !== index || run.shard.count !== count) {
      run.shard = { index, count };
      emit(run, {
        type: 'log',
        message: `[dwf] shard ${index + 1} of ${count} (index ${index}): ${items} of ${of} items`,
      });
    }
  }
  return sharded.args;
}

/** The host functions one script reaches, by the names the prelude calls them. */
function hostFunctions(run: RunContext, scope: ScriptScope): HostFunctions {
  const { budget } = run;
  const inPhase = () => (scope.phase ? { phase: scope.phase } : {});
  return {
    call: {
      agent: (prompt, opts) => callAgent(run, scope, prompt, opts),
      workflow: (nameOrRef, args) => callWorkflow(run, scope, nameOrRef, args),
      oracle: () => callOracle(run),
    },
    sync: {
      phase: (title) => {
        scope.phase = String(title);
        emit(run, { type: 'phase', phase: scope.phase });
      },
      log: (line) => emit(run, { type: 'log', message: String(line), ...inPhase() }),
      itemFailed: (where, error) =>
        emit(run, { type: 'item.failed', where: String(where), error: String(error), ...inPhase() }),
      budgetSpent: () =>
        budget.totalTokens === null && budget.totalUsd !== null ? budget.spentUsd : budget.spentTokens,
      budgetRemaining: () => {
        if (budget.totalTokens !== null) return budget.remainingTokens();
        if (budget.totalUsd !== null) return Math.max(0, budget.totalUsd - budget.spentUsd);
        return null;
      },
      shard: (args, options) => callShard(run, args, options),
    },
  };
}

/** Runs one script (the run's, or a nested workflow) in a sandbox of its own, to its outcome. */
export async function runScript(
  run: RunContext,
  scope: ScriptScope,
  body: string,
  file: string,
  args: unknown,
): Promise<SandboxOutcome> {
  // Until its sandbox is set up, a script counts as a call that may still start agents.
  run.otherCalls++;
  let ready = false;
  const markReady = () => {
    if (!ready) run.otherCalls--;
    ready = true;
  };
  try {
    return await runInSandbox({
      body,
      file,
      args,
      budgetTotal: run.budget.totalTokens ?? run.budget.totalUsd,
      host: hostBridge(hostFunctions(run, scope)),
      signal: run.stop.signal,
      onStart: markReady,
      beforeGuest: () => flushLogs(run),
      guestTurns: run.guestTurns,
      ...(run.options.limits ? { limits: run.options.limits } : {}),
    });
  } finally {
    markReady();
  }
}
