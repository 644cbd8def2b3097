import { setMaxListeners } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createRepoCodeRunner,
  type IsolationMode,
  noRepoCode,
  type RepoCodeRunner,
} from '../agents/isolation.js';
import { type AgentOutcome, runAgent } from '../agents/run-agent.js';
import { schemaProblem } from '../agents/schema.js';
import { Redactor } from '../agents/secrets.js';
import {
  type CommandRecord,
  type OracleConfig,
  runOracle,
  runTool,
  toolDefinitions,
} from '../agents/tools.js';
import { type Isolated, SecretInChangesError, Workspace } from '../agents/workspace.js';
import { costUsd, priceOf } from '../models/pricing.js';
import {
  type JsonSchema,
  type ModelProvider,
  type ToolCall,
  type Usage,
  ZERO_USAGE,
} from '../models/types.js';
import { findingsOf, renderReport, type UsageReport } from '../report/report.js';
import { checkScript, ScriptCheckError, type WorkflowMeta } from '../script/check.js';
import {
  GUEST_LIMITS,
  type GuestTurns,
  type HostBridge,
  runInSandbox,
  type SandboxLimits,
  type ScriptFailure,
} from '../script/sandbox.js';
import { Budget, BudgetExhaustedError } from './budget.js';
import {
  type AgentStatus,
  EventDigest,
  type RunEvent,
  type RunEventInput,
  type RunStatus,
} from './events.js';
import { agentKey, type JournalEntry, Replayer, readJournal } from './journal.js';
import { createRunDir, JsonLines, newRunId, runPaths, writeJsonAtomic } from './run-dir.js';
import { Scheduler } from './scheduler.js';
import { UsageLedger, type UsageTotals } from './usage.js';

export const MAX_CONCURRENCY = 16;
export const MAX_AGENTS = 1000;

export interface SavedWorkflow {
  source: string;
  file: string;
}

/** Finds a saved workflow by name for `workflow()`, or says where it looked. */
export type WorkflowResolver = (nameOrRef: unknown) => SavedWorkflow;

export interface RunOptions {
  source: string;
  /** How errors name the script, e.g. the path the user gave. */
  file: string;
  args?: unknown;
  provider: ModelProvider;
  runsDir: string;
  concurrency?: number;
  maxAgents?: number;
  budgetTokens?: number | null;
  budgetUsd?: number | null;
  /** The id of an earlier run in `runsDir` whose journal this run replays. */
  resume?: string;
  limits?: Partial<SandboxLimits>;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  workflows?: WorkflowResolver;
  /** The repository agents work on; without it agents have no tools and `oracle()` is unavailable. */
  workspace?: WorkspaceOptions;
  /** Secret values to redact everywhere, besides the secret-looking variables of `env`. */
  secrets?: string[];
  /** The environment secrets are looked for in (default: this process's). Commands never see it. */
  env?: NodeJS.ProcessEnv;
  /** Runs repository code (the test command, allowed commands); default: one made for this run from `isolation`. */
  runner?: RepoCodeRunner;
  /** Repository code runs isolated or not at all (`required`, the default), or unisolated (`off`). */
  isolation?: IsolationMode;
  /** A dry run: `oracle()` answers this without running anything (for estimates under `sim`). */
  dryRun?: { oraclePasses: boolean };
}

export interface WorkspaceOptions {
  repoDir: string;
  /** The test command: `oracle()` and the agents' `run_tests` tool. */
  oracle?: OracleConfig;
  /** Command lines agents may run, word for word as a prefix (no shell). */
  allowedCommands?: string[];
  commandTimeoutMs?: number;
  maxTurns?: number;
}

export interface RunSummary {
  runId: string;
  status: RunStatus;
  result: unknown;
  error?: string;
  runDir: string;
  usage: UsageTotals;
  resumedFrom?: string;
  /** The branch holding the run's changes and report, when it changed anything. */
  branch?: string;
  reportPath: string;
}

const AGENT_OPTION_KEYS = new Set(['label', 'phase', 'schema', 'model', 'effort', 'isolation', 'agentType']);

interface AgentOptions {
  label?: string;
  phase?: string;
  schema?: JsonSchema;
  model?: string;
  effort?: string;
  isolation?: 'worktree';
  agentType?: string;
}

function agentOptions(raw: unknown): AgentOptions {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TypeError('agent(prompt, opts): opts must be an object');
  const opts = raw as Record<string, unknown>;
  for (const key of Object.keys(opts)) {
    if (!AGENT_OPTION_KEYS.has(key)) {
      throw new TypeError(`agent(): unknown option "${key}" (known: ${[...AGENT_OPTION_KEYS].join(', ')})`);
    }
  }
  for (const key of ['label', 'phase', 'model', 'effort', 'agentType'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'string') {
      throw new TypeError(`agent(): opts.${key} must be a string`);
    }
    const length = typeof opts[key] === 'string' ? opts[key].length : 0;
    if (length > GUEST_LIMITS.phase) {
      throw new RangeError(
        `agent(): opts.${key} is ${length} characters; the limit is ${GUEST_LIMITS.phase}`,
      );
    }
  }
  if (opts.isolation !== undefined && opts.isolation !== 'worktree') {
    throw new TypeError(`agent(): opts.isolation must be 'worktree' when given`);
  }
  if (opts.schema !== undefined) {
    const problem = schemaProblem(opts.schema);
    if (problem) throw new TypeError(`agent(): ${problem}`);
  }
  return opts as AgentOptions;
}

function describeFailure(file: string, failure: ScriptFailure): string {
  return failure.line !== undefined
    ? `${file}:${failure.line}:${failure.column}: ${failure.message}`
    : failure.message;
}

function checkLimit(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** Where a script's agents and logs land: each running script (the run's, or a nested workflow) has its own phase. */
interface ScriptScope {
  name: string;
  meta: WorkflowMeta;
  depth: number;
  phase?: string;
}

/**
 * Runs a workflow script to the end: checks it, executes it in the sandbox, schedules its agents
 * under the caps and the budget, and records everything in the run directory.
 */
export async function runWorkflow(options: RunOptions): Promise<RunSummary> {
  const checked = checkScript(options.source);
  if (!checked.ok) throw new ScriptCheckError(options.file, checked.diagnostics);

  const concurrency = checkLimit('concurrency', options.concurrency ?? MAX_CONCURRENCY, MAX_CONCURRENCY);
  const maxAgents = checkLimit('maxAgents', options.maxAgents ?? MAX_AGENTS, MAX_AGENTS);
  const budget = new Budget(options.budgetTokens ?? null, options.budgetUsd ?? null);
  for (const [name, value] of [
    ['budgetTokens', budget.totalTokens],
    ['budgetUsd', budget.totalUsd],
  ] as const) {
    if (value !== null && !(Number.isFinite(value) && value > 0))
      throw new RangeError(`${name} must be a number > 0`);
  }
  if (budget.totalUsd !== null && !priceOf(options.provider.modelFor(options.provider.defaultModel))) {
    throw new Error(
      `a dollar budget needs prices, and model "${options.provider.defaultModel}" has none; use a token budget instead`,
    );
  }

  let journalEntries: JournalEntry[] = [];
  if (options.resume !== undefined) {
    const previous = runPaths(options.runsDir, options.resume);
    if (!existsSync(previous.dir))
      throw new Error(`no run "${options.resume}" in ${options.runsDir} to resume`);
    journalEntries = readJournal(previous.journal);
  }

  const runId = newRunId(new Date());
  const paths = createRunDir(options.runsDir, runId, options.source);
  const journal = new JsonLines(paths.journal);
  const eventLog = new JsonLines(paths.events);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const env = options.env ?? process.env;
  const redactor = new Redactor(options.secrets ?? [], env);
  // Events stream to events.jsonl; memory keeps only the digest the report needs, and the lines
  // the script writes are capped (past the cap they are dropped, with one notice).
  const digest = new EventDigest();
  const emit = (input: RunEventInput) => {
    for (const admitted of digest.admit(input)) {
      const raw = { t: Math.round(performance.now() - started), ...admitted } as RunEvent;
      // Nothing reaches the event log, the progress view or the report with a secret in it: every
      // string is redacted before it is serialised (a secret with `"` or `\` is escaped after).
      const event = redactor.redactValue(raw);
      digest.add(event);
      eventLog.appendLine(JSON.stringify(event));
      options.onEvent?.(event);
    }
  };

  const workspace = options.workspace
    ? new Workspace({
        repoDir: options.workspace.repoDir,
        runDir: paths.dir,
        runId,
        secrets: redactor,
        ...(options.resume !== undefined
          ? { resumeFrom: { runDir: runPaths(options.runsDir, options.resume).dir, runId: options.resume } }
          : {}),
      })
    : undefined;
  // One runner for every piece of repository code this run may run, made once.
  const runsRepoCode =
    options.workspace !== undefined &&
    !options.dryRun &&
    (options.workspace.oracle !== undefined || (options.workspace.allowedCommands ?? []).length > 0);
  const runner = runsRepoCode
    ? (options.runner ??
      (await createRepoCodeRunner({
        isolation: options.isolation ?? 'required',
        repoDir: options.workspace!.repoDir,
        hide: [options.runsDir, options.workspace!.repoDir],
      })))
    : undefined;
  const onCommand = (index: number | undefined) => (record: CommandRecord) =>
    emit({ type: 'command', ...(index !== undefined ? { index } : {}), ...record });

  const ledger = new UsageLedger();
  const scheduler = new Scheduler(concurrency);
  const replayer = new Replayer(journalEntries);
  const stop = new AbortController();
  // Queued agents share one listener (see Scheduler); each running agent, its model call and its
  // commands listen for the stop themselves, as does each script's sandbox.
  setMaxListeners(maxAgents + 16, stop.signal);
  const onOuterAbort = () => stop.abort(options.signal?.reason ?? new Error('the run was stopped'));
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let nextIndex = 0;
  let liveAgents = 0;
  let otherCalls = 0;
  let budgetAnnounced = false;
  const inFlight = new Set<Promise<unknown>>();
  // Results reach a script in a later macrotask than they settle (see GuestTurns): a replayed
  // result is handed over only once every script has reacted to the one before, as when the
  // original run received them.
  const guestTurns: GuestTurns = { pending: 0 };
  /**
   * The durability rule: a SIGKILL may lose at most the events of the current turn, never a
   * journal line of an agent whose result the script has seen. Journal and event lines are
   * buffered per turn (see JsonLines), and flushed here, before any script's pending jobs run.
   */
  const beforeGuest = () => {
    journal.flush();
    eventLog.flush();
  };

  let pumpScheduled = false;
  const pumpReplays = () => {
    if (pumpScheduled || replayer.pending === 0) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      if (guestTurns.pending > 0) return pumpReplays();
      if (replayer.deliverNext(liveAgents === 0 && otherCalls === 0)) pumpReplays();
    });
  };

  const budgetCheck = () => {
    const reason = budget.exhaustedReason();
    if (reason && !budgetAnnounced) {
      budgetAnnounced = true;
      emit({ type: 'budget.exhausted', reason });
    }
    return reason;
  };

  const finishAgent = (
    base: { index: number; label?: string; phase?: string; model: string },
    outcome: Pick<AgentOutcome, 'status' | 'usage' | 'attempts'> & { error?: string },
    usd: number | null,
  ) => {
    ledger.record({ ...base, status: outcome.status, usage: outcome.usage, usd });
    emit({
      type: 'agent.finished',
      index: base.index,
      ...(base.label !== undefined ? { label: base.label } : {}),
      ...(base.phase !== undefined ? { phase: base.phase } : {}),
      status: outcome.status as AgentStatus,
      usage: outcome.usage,
      usd,
      attempts: outcome.attempts,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    });
  };

  const runLiveAgent = async (
    scope: ScriptScope,
    index: number,
    prompt: string,
    opts: AgentOptions,
    key: string,
  ) => {
    const phase = opts.phase ?? scope.phase;
    const phaseModel = scope.meta.phases?.find((p) => p.title === phase)?.model;
    const model = options.provider.modelFor(opts.model ?? phaseModel ?? options.provider.defaultModel);
    const base = {
      index,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      ...(phase !== undefined ? { phase } : {}),
      model,
    };
    const refused = budgetCheck();
    if (refused) throw new BudgetExhaustedError(`agent() refused: ${refused}`);
    if (budget.totalUsd !== null && !priceOf(model)) {
      throw new Error(`agent(): model "${model}" has no known price, so the dollar budget cannot cover it`);
    }
    emit({ type: 'agent.queued', ...base });
    liveAgents++;
    let release: (() => void) | undefined;
    try {
      try {
        release = scheduler.tryAcquire(stop.signal) ?? (await scheduler.acquire(stop.signal));
      } catch {
        finishAgent(
          base,
          { status: 'stopped', usage: ZERO_USAGE, attempts: 0, error: 'the run was stopped' },
          null,
        );
        return null;
      }
      const late = budgetCheck();
      if (late) {
        finishAgent(base, { status: 'stopped', usage: ZERO_USAGE, attempts: 0, error: late }, null);
        throw new BudgetExhaustedError(`agent() refused: ${late}`);
      }
      emit({ type: 'agent.started', ...base });
      let usd: number | null = priceOf(model) ? 0 : null;
      const tools = workspace ? agentTools(index, opts.isolation === 'worktree') : undefined;
      const outcome = await runAgent(
        {
          prompt,
          ...base,
          ...(opts.effort ? { effort: opts.effort } : {}),
          ...(opts.schema ? { schema: opts.schema } : {}),
        },
        {
          provider: options.provider,
          signal: stop.signal,
          stopReason: budgetCheck,
          onUsage: (usage: Usage, answeredBy: string) => {
            const cost = costUsd(answeredBy, usage);
            if (cost !== null) usd = (usd ?? 0) + cost;
            budget.charge(usage, cost);
            budgetCheck();
          },
          onTurn: (turn) => emit({ type: 'agent.turn', index, ...turn }),
          ...(tools ? { tools } : {}),
          ...(options.workspace?.maxTurns ? { maxTurns: options.workspace.maxTurns } : {}),
        },
      );
      const isolated = await tools?.isolated();
      if (isolated) {
        const merged = await isolated.finish();
        if (merged.conflict) emit({ type: 'changes.conflict', index, error: merged.conflict });
        else if (merged.changed.length > 0) emit({ type: 'changes.merged', index, files: merged.changed });
      }
      finishAgent(base, outcome, usd);
      if (outcome.status === 'completed') {
        // An answer is kept in the journal (uploaded as an artifact) and flows on into prompts and the
        // report: a secret in it is redacted here, once, so a replay gives the same value.
        const result = redactor.redactValue(outcome.result);
        journal.append({ ...base, key, result, usage: outcome.usage, usd } satisfies JournalEntry);
        return result;
      }
      if (outcome.status === 'invalid') throw new Error(outcome.error);
      return null;
    } finally {
      release?.();
      liveAgents--;
      pumpReplays();
    }
  };

  /**
   * An agent's tools. Its working copy is set up at its first tool call, so agents that never
   * touch the repository (and runs under `sim`) create no worktree.
   */
  const agentTools = (index: number, isolate: boolean) => {
    const config = options.workspace!;
    const base = {
      agentIndex: index,
      workspace: workspace!,
      redactor,
      runner: runner ?? noRepoCode,
      allowedCommands: config.allowedCommands ?? [],
      ...(config.oracle ? { oracle: config.oracle } : {}),
      commandTimeoutMs: config.commandTimeoutMs ?? 120_000,
      signal: stop.signal,
      onCommand: onCommand(index),
    };
    let own: Promise<Isolated | undefined> | undefined;
    let root: Promise<string> | undefined;
    const workingCopy = () => {
      root ??= (async () => {
        if (isolate) own = workspace!.isolate(index);
        return (await own)?.root ?? (await workspace!.root());
      })();
      return root;
    };
    return {
      definitions: toolDefinitions(base),
      run: async (call: ToolCall) => runTool(call, { ...base, root: await workingCopy() }),
      isolated: async () => (own ? await own : undefined),
    };
  };

  const callOracle = async (): Promise<unknown> => {
    if (options.dryRun) {
      const passed = options.dryRun.oraclePasses;
      const verdict = {
        passed,
        exitCode: passed ? 0 : 1,
        summary: `dry run: the tests ${passed ? 'pass' : 'fail'}`,
        durationMs: 0,
      };
      emit({ type: 'oracle', ...verdict });
      return verdict;
    }
    const oracle = options.workspace?.oracle;
    if (!workspace || !oracle) {
      throw new Error('oracle(): no test command is configured for this run (dwf run --oracle "npm test")');
    }
    const result = await runOracle(
      oracle,
      { runner: runner ?? noRepoCode, redactor, signal: stop.signal, onCommand: onCommand(undefined) },
      await workspace.root(),
    );
    const { output: _output, ...verdict } = result;
    emit({ type: 'oracle', ...verdict });
    return verdict;
  };

  const callAgent = (scope: ScriptScope, rawPrompt: unknown, rawOpts: unknown): Promise<unknown> => {
    if (typeof rawPrompt !== 'string' || rawPrompt.trim() === '') {
      throw new TypeError('agent(prompt, opts?) needs a non-empty prompt string');
    }
    const opts = agentOptions(rawOpts);
    const index = nextIndex++;
    if (index >= maxAgents) {
      emit({ type: 'agent.refused', index, reason: `the agent cap of ${maxAgents} was reached` });
      throw new Error(
        `agent cap reached: this run may start at most ${maxAgents} agents and this is agent #${index + 1}; ` +
          'raise maxAgents (up to 1000) or do the work in fewer agents',
      );
    }
    const phase = opts.phase ?? scope.phase;
    const key = agentKey({ prompt: rawPrompt, options: opts as Record<string, unknown>, phase });
    const replay = replayer.match(index, key);
    if (replay) {
      return new Promise((resolve) => {
        replayer.wait(index, (entry) => {
          budget.charge(entry.usage, entry.usd);
          ledger.recordReplayed(entry.usage, entry.usd);
          journal.append(entry);
          emit({
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
        pumpReplays();
      });
    }
    const running = runLiveAgent(scope, index, rawPrompt, opts, key);
    inFlight.add(running);
    running.then(
      () => inFlight.delete(running),
      () => inFlight.delete(running),
    );
    return running;
  };

  const runScript = async (
    scope: ScriptScope,
    body: string,
    file: string,
    args: unknown,
  ): Promise<{ ok: true; value: unknown } | { ok: false; failure: ScriptFailure }> => {
    const host: HostBridge = {
      call: (name, list) => {
        if (name === 'agent') return callAgent(scope, list[0], list[1]);
        if (name === 'workflow') return callWorkflow(scope, list[0], list[1]);
        if (name === 'oracle') return callOracle();
        return Promise.reject(new Error(`unknown host call ${name}`));
      },
      sync: (name, list) => {
        switch (name) {
          case 'phase':
            scope.phase = String(list[0]);
            emit({ type: 'phase', phase: scope.phase });
            return undefined;
          case 'log':
            emit({ type: 'log', message: String(list[0]), ...(scope.phase ? { phase: scope.phase } : {}) });
            return undefined;
          case 'itemFailed':
            emit({
              type: 'item.failed',
              where: String(list[0]),
              error: String(list[1]),
              ...(scope.phase ? { phase: scope.phase } : {}),
            });
            return undefined;
          case 'budgetSpent':
            return budget.totalTokens === null && budget.totalUsd !== null
              ? budget.spentUsd
              : budget.spentTokens;
          case 'budgetRemaining':
            if (budget.totalTokens !== null) return budget.remainingTokens();
            if (budget.totalUsd !== null) return Math.max(0, budget.totalUsd - budget.spentUsd);
            return null;
          default:
            throw new Error(`unknown host call ${name}`);
        }
      },
    };
    otherCalls++;
    let ready = false;
    const markReady = () => {
      if (!ready) otherCalls--;
      ready = true;
    };
    try {
      return await runInSandbox({
        body,
        file,
        args,
        budgetTotal: budget.totalTokens ?? budget.totalUsd,
        host,
        signal: stop.signal,
        onStart: markReady,
        beforeGuest,
        guestTurns,
        ...(options.limits ? { limits: options.limits } : {}),
      });
    } finally {
      markReady();
    }
  };

  const callWorkflow = async (scope: ScriptScope, nameOrRef: unknown, args: unknown): Promise<unknown> => {
    if (scope.depth >= 1)
      throw new Error('workflow() is one level deep: a nested workflow cannot start another');
    if (!options.workflows) throw new Error('workflow(): no saved workflows are available to this run');
    const saved = options.workflows(nameOrRef);
    const nested = checkScript(saved.source);
    if (!nested.ok) throw new ScriptCheckError(saved.file, nested.diagnostics);
    const name = nested.meta.name;
    emit({ type: 'workflow.started', name, ...(scope.phase ? { phase: scope.phase } : {}) });
    // A resumed run starts from the files the earlier one left, even if no agent of it touches a file.
    if (workspace && options.resume !== undefined) await workspace.root();
    const outcome = await runScript(
      { name, meta: nested.meta, depth: scope.depth + 1, ...(scope.phase ? { phase: scope.phase } : {}) },
      nested.body,
      saved.file,
      args,
    );
    if (outcome.ok) {
      emit({ type: 'workflow.finished', name, ok: true });
      return outcome.value;
    }
    const error = describeFailure(saved.file, outcome.failure);
    emit({ type: 'workflow.finished', name, ok: false, error });
    throw new Error(`workflow "${name}" failed: ${error}`);
  };

  emit({
    type: 'run.started',
    runId,
    name: checked.meta.name,
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    concurrency,
    maxAgents,
  });
  // The log says how repository code runs: isolated, unisolated by choice, or refused.
  if (runner) emit({ type: 'log', message: runner.description });

  const outcome = await runScript(
    { name: checked.meta.name, meta: checked.meta, depth: 0 },
    checked.body,
    options.file,
    options.args,
  );

  // Agents the script started but never awaited are stopped; their usage still counts.
  if (!stop.signal.aborted) stop.abort(new Error('the script finished'));
  await Promise.allSettled([...inFlight]);
  options.signal?.removeEventListener('abort', onOuterAbort);

  let status: RunStatus = 'completed';
  let error: string | undefined;
  if (!outcome.ok) {
    error = redactor.redact(describeFailure(options.file, outcome.failure));
    const budgetStop = /\bBudgetExhaustedError\b/.test(outcome.failure.message);
    status = outcome.failure.kind === 'aborted' || budgetStop ? 'stopped' : 'failed';
  }
  // The result and the error reach result.json, the pull request and comments: redacted too.
  const result = outcome.ok ? redactor.redactValue(outcome.value) : null;
  const usage = ledger.totals();
  const usageReport = ledger.toJSON() as UsageReport;
  writeJsonAtomic(paths.usage, usageReport);

  // The report and the changes end on one branch, whatever the outcome: work done is never lost.
  const changes = await workspace?.summary();
  const reportFor = (branch?: string) =>
    renderReport({
      runId,
      name: checked.meta.name,
      description: checked.meta.description,
      args: options.args,
      model: options.provider.id,
      status,
      ...(error !== undefined ? { error } : {}),
      result,
      digest,
      usage: usageReport,
      durationMs: Math.round(performance.now() - started),
      ...(changes
        ? { changes: { ...changes, byAgent: workspace!.changes(), ...(branch ? { branch } : {}) } }
        : {}),
      replayed: options.provider.id.startsWith('fixture:') || journalEntries.length > 0,
    });
  let branch: string | undefined;
  // Commits when anything changed; otherwise removes the worktree and its empty branch. Changes
  // holding a secret are not committed: the run fails, and its report says which files.
  const committed = await workspace
    ?.commit(
      `${checked.meta.name}: changes from dynamic workflow run ${runId}`,
      {
        [`.dynamic-workflows/${runId}/report.md`]: redactor.redact(reportFor(workspace.branch)),
        [`.dynamic-workflows/${runId}/usage.json`]: `${JSON.stringify(usageReport, null, 2)}\n`,
      },
      // Findings without changes still get a branch: the report is worth reviewing on its own.
      { evenWithoutChanges: findingsOf(result).length > 0 },
    )
    .catch((failure: unknown) => {
      if (!(failure instanceof SecretInChangesError)) throw failure;
      if (status === 'completed') status = 'failed';
      error = error === undefined ? failure.message : `${error}; ${failure.message}`;
      return undefined;
    });
  if (committed) {
    branch = committed.branch;
    writeJsonAtomic(join(paths.dir, 'changes.json'), {
      ...committed,
      files: changes?.files ?? [],
      byAgent: workspace!.changes(),
    });
  }
  const reportPath = join(paths.dir, 'report.md');
  writeFileSync(reportPath, redactor.redact(reportFor(branch)));
  emit({
    type: 'run.finished',
    status,
    ...(error !== undefined ? { error } : {}),
    ...(branch ? { branch } : {}),
  });
  journal.close();
  eventLog.close();

  const summary: RunSummary = {
    runId,
    status,
    result,
    ...(error !== undefined ? { error } : {}),
    runDir: paths.dir,
    usage,
    ...(options.resume !== undefined ? { resumedFrom: options.resume } : {}),
    ...(branch ? { branch } : {}),
    reportPath,
  };
  writeJsonAtomic(paths.result, {
    ...summary,
    name: checked.meta.name,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    budget: { tokens: budget.totalTokens, usd: budget.totalUsd, spentTokens: budget.spentTokens },
  });
  return summary;
}
