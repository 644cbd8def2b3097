import { createInterface } from 'node:readline';
import { CONFIG_DEFAULT_MODEL } from './init-config.js';
import { UsageError } from './options.js';

/** What `dwf init` sets up, from flags or answers. */
export interface InitChoices {
  app: boolean;
  model: string;
  budget: { tokens?: number | undefined; usd?: number | undefined };
  sweepBudget?: { tokens?: number | undefined; usd?: number | undefined } | undefined;
  appLogin?: string | undefined;
}

/** The flags of `dwf init` that choose (the rest say where and how to write). */
export interface ChoiceFlags {
  app?: boolean | undefined;
  'no-app'?: boolean | undefined;
  model?: string | undefined;
  'budget-tokens'?: string | undefined;
  'budget-usd'?: string | undefined;
  sweep?: boolean | undefined;
  'sweep-budget-tokens'?: string | undefined;
  'sweep-budget-usd'?: string | undefined;
  'app-login'?: string | undefined;
}

export const DEFAULT_TOKENS = 5_000_000;

function amount(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      `${name} must be a ${integer ? 'whole number' : 'number'} greater than 0, got "${raw}"`,
    );
  }
  return value;
}

/** The choices from flags alone: app-less, the default model and a 5M-token budget unless told. */
export function choicesFromFlags(v: ChoiceFlags): InitChoices {
  if (v.app && v['no-app']) throw new UsageError('--app and --no-app contradict each other');
  const budget = {
    tokens: amount('--budget-tokens', v['budget-tokens'], true),
    usd: amount('--budget-usd', v['budget-usd'], false),
  };
  const sweepBudget = {
    tokens: amount('--sweep-budget-tokens', v['sweep-budget-tokens'], true),
    usd: amount('--sweep-budget-usd', v['sweep-budget-usd'], false),
  };
  const sweepBudgetGiven = sweepBudget.tokens !== undefined || sweepBudget.usd !== undefined;
  if (v.sweep && !sweepBudgetGiven) {
    throw new UsageError(
      '--sweep needs its own budget: --sweep-budget-usd X or --sweep-budget-tokens N (a scheduled sweep runs without anyone approving it)',
    );
  }
  if (!v.sweep && sweepBudgetGiven) throw new UsageError('a sweep budget needs --sweep');
  return {
    app: v.app === true,
    model: v.model ?? CONFIG_DEFAULT_MODEL,
    budget: budget.tokens === undefined && budget.usd === undefined ? { tokens: DEFAULT_TOKENS } : budget,
    sweepBudget: v.sweep ? sweepBudget : undefined,
    appLogin: v['app-login'],
  };
}

export interface Prompter {
  ask(question: string): Promise<string>;
  say(text: string): void;
  close(): void;
}

/** Questions on the terminal, answers from its input, one line each. */
export function terminalPrompter(
  input: NodeJS.ReadableStream,
  output: { write(text: string): unknown },
): Prompter {
  const lines = createInterface({ input, terminal: false })[Symbol.asyncIterator]();
  return {
    say: (text) => {
      output.write(text);
    },
    async ask(question) {
      output.write(question);
      const next = await lines.next();
      if (next.done)
        throw new UsageError('no answer: the input ended (use flags and --yes without a terminal)');
      return String(next.value).trim();
    },
    close: () => {
      lines.return?.();
    },
  };
}

async function yesNo(p: Prompter, question: string, fallback: boolean): Promise<boolean> {
  for (;;) {
    const answer = (await p.ask(`${question} [${fallback ? 'Y/n' : 'y/N'}] `)).toLowerCase();
    if (answer === '') return fallback;
    if (/^y(es)?$/.test(answer)) return true;
    if (/^no?$/.test(answer)) return false;
  }
}

async function number(p: Prompter, question: string, name: string, integer: boolean, required: boolean) {
  for (;;) {
    const answer = await p.ask(question);
    try {
      const value = amount(name, answer, integer);
      if (value !== undefined || !required) return value;
    } catch (error) {
      p.say(`${(error as Error).message}\n`);
    }
  }
}

/**
 * The choices asked on a terminal: each question a flag did not answer, with the flags' default
 * shown (Enter keeps it). The sweep is off unless the answer is yes, and then needs its budget.
 */
export async function askChoices(p: Prompter, v: ChoiceFlags): Promise<InitChoices> {
  const base = choicesFromFlags({
    ...v,
    sweep: false,
    'sweep-budget-tokens': undefined,
    'sweep-budget-usd': undefined,
  });
  const app =
    v.app || v['no-app']
      ? base.app
      : await yesNo(
          p,
          'Will the GitHub App dispatch this workflow? (no: the workflow answers /workflow comments itself)',
          false,
        );
  const model = v.model ?? ((await p.ask(`Model [${base.model}] `)) || base.model);
  let budget = base.budget;
  if (v['budget-tokens'] === undefined && v['budget-usd'] === undefined) {
    const usd = await number(
      p,
      'Budget of each run in dollars (Enter: a ceiling of 5,000,000 tokens instead) ',
      'the budget',
      false,
      false,
    );
    if (usd !== undefined) budget = { usd };
  }
  let sweepBudget: InitChoices['sweepBudget'];
  const sweep =
    v.sweep ?? (await yesNo(p, 'Schedule a weekly security sweep (it runs without approval)?', false));
  if (sweep) {
    const given = choicesFromFlags({
      ...v,
      sweep: v['sweep-budget-tokens'] !== undefined || v['sweep-budget-usd'] !== undefined,
    });
    sweepBudget = given.sweepBudget ?? {
      usd: await number(p, "The sweep's own budget in dollars (required) ", 'the sweep budget', false, true),
    };
  }
  return { app, model, budget, sweepBudget, appLogin: v['app-login'] };
}
