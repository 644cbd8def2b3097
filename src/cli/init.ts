import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runGit } from '../agents/git.js';
import { CONFIG_FILE } from '../github/config.js';
import { githubRepoOf, resolveAction } from './init-action.js';
import { checkSetup, formatProblems } from './init-check.js';
import { configText } from './init-config.js';
import { askChoices, choicesFromFlags, type InitChoices, terminalPrompter } from './init-prompt.js';
import { SWEEP_CRON, workflowText } from './init-workflow.js';
import { type CliIo, checkRepo, parseFlags, UsageError } from './options.js';

/** The CLI's io, and the input questions are read from (the process's stdin unless given). */
export type InitIo = CliIo & { stdin?: NodeJS.ReadableStream & { isTTY?: boolean } };

export const WORKFLOW_PATH = '.github/workflows/dynamic-workflows.yml';

const OPTIONS = {
  repo: { type: 'string' },
  check: { type: 'boolean' },
  app: { type: 'boolean' },
  'no-app': { type: 'boolean' },
  'app-login': { type: 'string' },
  model: { type: 'string' },
  'budget-tokens': { type: 'string' },
  'budget-usd': { type: 'string' },
  sweep: { type: 'boolean' },
  'sweep-budget-tokens': { type: 'string' },
  'sweep-budget-usd': { type: 'string' },
  'action-ref': { type: 'string' },
  'action-repo': { type: 'string' },
  yes: { type: 'boolean' },
  force: { type: 'boolean' },
} as const;

/** `dwf init --check`: every problem with its fix, or one line per file that is right. */
async function check(repoDir: string, io: CliIo): Promise<number> {
  const { problems, workflowFile } = await checkSetup(repoDir);
  if (problems.length > 0) {
    io.stdout.write(formatProblems(problems));
    io.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the set-up\n`);
    return 1;
  }
  io.stdout.write(
    `${workflowFile}: valid against GitHub's workflow schema; declares exactly the inputs the app dispatches; the action pinned to a commit or vendored\n` +
      `${CONFIG_FILE}: ${existsSync(join(repoDir, CONFIG_FILE)) ? 'valid' : 'absent (every key at its default)'}\n` +
      'the set-up is ready: add the secret ANTHROPIC_API_KEY if you have not, then comment `/workflow audit` on an issue\n',
  );
  return 0;
}

function summary(c: InitChoices): string {
  const money = (b: InitChoices['budget']) =>
    [
      b.usd !== undefined ? `$${b.usd}` : '',
      b.tokens !== undefined ? `${b.tokens.toLocaleString('en-US')} tokens` : '',
    ]
      .filter(Boolean)
      .join(' and ');
  return (
    `${c.model}, each run at most ${money(c.budget)}, ` +
    (c.sweepBudget ? `a weekly sweep of at most ${money(c.sweepBudget)}` : 'no scheduled sweep')
  );
}

/** What to do now: the one secret, the setting, and the exact next step. */
async function nextSteps(repoDir: string, c: InitChoices): Promise<string> {
  const origin = await runGit(['remote', 'get-url', 'origin'], { cwd: repoDir }).catch(() => '');
  const repo = githubRepoOf(origin);
  const secrets = repo
    ? `https://github.com/${repo}/settings/secrets/actions`
    : 'Settings → Secrets and variables → Actions';
  const actions = repo ? `https://github.com/${repo}/settings/actions` : 'Settings → Actions → General';
  return [
    '',
    'One secret to add, the model key every plan and run uses:',
    `  gh secret set ANTHROPIC_API_KEY${repo ? ` --repo ${repo}` : ''}    (or ${secrets} → New repository secret)`,
    `And let the job token open pull requests: ${actions} → "Allow GitHub Actions to create and approve pull requests".`,
    ...(c.app
      ? [
          'The app dispatches this workflow: install it on the repository (docs/app.md in dynamic-workflows);',
          `if its bot is not dynamic-workflows[bot], set appLogin in ${CONFIG_FILE} (dwf init --app-login LOGIN).`,
        ]
      : []),
    '',
    'Next:',
    `  git add ${WORKFLOW_PATH} ${CONFIG_FILE} && git commit -m "Dynamic Workflows" && git push`,
    '  then comment `/workflow audit` on an issue, read the plan, and reply `/approve`.',
    '',
  ].join('\n');
}

/** `dwf init`: writes the workflow and the configuration, or with --check checks them. */
export async function init(rest: string[], io: InitIo): Promise<number> {
  const { values, positionals } = parseFlags('init', rest, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`init takes no arguments, got "${positionals[0]}"`);
  const repoDir = resolve(io.cwd, values.repo ?? '.');
  await checkRepo(repoDir, values.repo, true);
  if (values.check) return await check(repoDir, io);

  const targets = [WORKFLOW_PATH, CONFIG_FILE];
  const existing = targets.filter((t) => existsSync(join(repoDir, t)));
  if (existing.length > 0 && !values.force) {
    io.stderr.write(
      `dwf: ${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}: ` +
        '`dwf init --check` checks them, `dwf init --force` writes them again\n',
    );
    return 1;
  }
  const stdin = io.stdin ?? process.stdin;
  const interactive = stdin.isTTY === true && !values.yes;
  let choices: InitChoices;
  if (interactive) {
    const prompter = terminalPrompter(stdin, io.stderr);
    try {
      choices = await askChoices(prompter, values);
    } finally {
      prompter.close();
    }
  } else choices = choicesFromFlags(values);

  const action = await resolveAction(repoDir, values['action-ref'], values['action-repo']);
  const files: Array<[string, string]> = [
    [
      WORKFLOW_PATH,
      workflowText({
        app: choices.app,
        uses: action.uses,
        sweepCron: choices.sweepBudget ? SWEEP_CRON : undefined,
      }),
    ],
    [CONFIG_FILE, configText({ ...choices, schemaUrl: action.schemaUrl })],
  ];
  for (const [path, text] of files) {
    mkdirSync(dirname(join(repoDir, path)), { recursive: true });
    writeFileSync(join(repoDir, path), text);
  }
  io.stdout.write(
    `wrote ${WORKFLOW_PATH}: ${choices.app ? 'dispatched by the GitHub App' : 'answers /workflow comments itself (no app)'}, using ${action.description}\n` +
      `wrote ${CONFIG_FILE}: ${summary(choices)}\n`,
  );
  if (action.note) io.stdout.write(`note: ${action.note}\n`);
  const { problems } = await checkSetup(repoDir);
  const left = problems.filter((p) => !p.problem.includes('could not be checked'));
  if (left.length > 0) io.stdout.write(`but the set-up is not right yet:\n${formatProblems(left)}`);
  io.stdout.write(await nextSteps(repoDir, choices));
  return 0;
}
