import { planRequest } from '../flows/plan.js';
import type { Plan } from '../plan/plan.js';
import { PlanRequestError } from '../plan/request.js';
import { renderPlan } from '../report/plan.js';
import {
  builtinRequest,
  type CliIo,
  checkRepo,
  cliSettings,
  modelFrom,
  parseFlags,
  parseJsonArgs,
  SHARED_OPTIONS,
  shellWord,
  UsageError,
} from './options.js';

/** The model an estimate is priced as when `--model` names none. */
const PRICED_AS = 'claude-sonnet-5-5';

/** `dwf plan KIND|TEXT`: assess the repository, decide, write the script and estimate it. */
export async function plan(rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('plan', rest, {
    ...SHARED_OPTIONS,
    baseline: { type: 'boolean' },
    'max-shards': { type: 'string' },
  });
  if (positionals.length === 0) {
    throw new UsageError(
      'plan takes what to plan: audit, bug-hunt, sweep, migrate TARGET, research QUESTION, or a request in words',
    );
  }
  const request = positionals.join(' ');
  const args = parseJsonArgs(values.args) as Record<string, unknown> | undefined;
  // The estimate is priced as the model the run will use; a request in words also needs it to write the script.
  const author = values.model ? modelFrom(values.model, io) : undefined;
  if (!builtinRequest(request) && (!author || author.id === 'sim')) {
    throw new UsageError(
      `"${request}" is a request in words: writing its script needs a real model (the sim only answers with placeholders); ` +
        'pass --model anthropic:claude-sonnet-5-5 with ANTHROPIC_API_KEY set, or plan a built-in workflow (audit, bug-hunt, sweep, migrate TARGET, research QUESTION)',
    );
  }
  const settings = cliSettings(io, values, author ?? modelFrom('sim', io));
  await checkRepo(settings.repoDir, values.repo, true);
  const model = author ? author.modelFor(author.defaultModel) : PRICED_AS;
  let result: Plan;
  try {
    result = await planRequest(settings, {
      request,
      pricedAs: model,
      ...(author ? { author } : {}),
      ...(args ? { args } : {}),
      ...(values.baseline ? { baseline: true } : {}),
    });
  } catch (error) {
    if (error instanceof PlanRequestError) throw new UsageError(error.message);
    throw error;
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify(planJson(result))}\n`);
  } else {
    // The same request with the same flags plans the same script: the command says all of them.
    const flags = (
      ['repo', 'args', 'oracle', 'concurrency', 'max-agents', 'budget-tokens', 'budget-usd'] as const
    ).flatMap((name) => (values[name] !== undefined ? [`--${name}`, values[name]!] : []));
    const words = ['dwf', 'run', request, ...flags, '--model', `anthropic:${model}`];
    if (values['no-isolation']) words.push('--no-isolation');
    const command = `\`${words.map(shellWord).join(' ')}\``;
    // `dwf run` is one runner: it plans the run unsplit and works through every file itself.
    const howToRun = result.shards
      ? `To run it on one runner (every shard's files in one run, unsplit): ${command}. Split across ${result.shards.count} runners, it runs on GitHub: \`/approve\` on the plan comment starts a job per shard.`
      : `To run it: ${command}`;
    io.stdout.write(renderPlan(result, result.script ? { howToRun } : {}));
  }
  return result.verdict.decision === 'stop' ? 1 : 0;
}

function planJson(result: Plan) {
  const e = result.estimate;
  return {
    assessment: result.assessment,
    verdict: result.verdict,
    questions: result.questions,
    script: result.script,
    scriptSha256: result.scriptSha256,
    estimate: e && {
      agents: e.agents,
      inputTokens: e.inputTokens,
      outputTokens: e.outputTokens,
      usd: e.usd,
      wallSeconds: e.wallSeconds,
      model: e.model,
      problems: e.problems,
      ...(e.overBudget ? { overBudget: e.overBudget } : {}),
      ...(e.phases ? { phases: e.phases } : {}),
      ...(e.budget ? { budget: e.budget } : {}),
    },
    ...(result.authoring ? { authoring: result.authoring } : {}),
    ...(result.shards ? { shards: result.shards } : {}),
  };
}
