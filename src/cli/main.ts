import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  agentTypesIn,
  loadAgentDefinitions,
  repositoryDefinitionDirs,
  unknownAgentType,
} from '../agents/agent-definitions.js';
import { MAX_AGENTS, MAX_CONCURRENCY } from '../engine/run.js';
import { MODEL_HELP } from '../models/resolve.js';
import { BUILTIN_DIR } from '../plan/estimate.js';
import { checkScript, formatDiagnostics } from '../script/check.js';
import { demo } from './demo.js';
import { init } from './init.js';
import { type CliIo, parseFlags, readScript, UsageError } from './options.js';
import { plan } from './plan.js';
import { plural } from './progress.js';
import { run } from './run.js';
import { runs } from './runs.js';
import { show } from './show.js';

export type { CliIo } from './options.js';

const VERSION = (
  JSON.parse(
    readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8'),
  ) as {
    version: string;
  }
).version;

const USAGE = `dwf: run dynamic workflows (multi-agent loops whose plan is code)

usage:
  dwf version                  print dwf's version
  dwf validate FILE [--repo D] check a workflow script without running it (and the agent types
                               it names against D's .claude/agents; default: this directory)
  dwf run FILE [options]       run a workflow script
  dwf run KIND [options]       plan a built-in workflow (audit, bug-hunt, sweep, migrate TARGET,
                               research QUESTION) for --repo, then run it
  dwf plan KIND|TEXT [options] assess the repository, decide, write the script and estimate it;
                               options: --repo --args --model --oracle --baseline --no-isolation
                               --concurrency --max-agents --budget-tokens --budget-usd --json
                               --max-shards N (split across up to N runners; default 1)
  dwf runs [--runs-dir DIR] [--json]
                               list the runs: id, workflow, status, agents, tokens, dollars,
                               start and duration
  dwf show RUN [AGENT] [--runs-dir DIR] [--json] [--full]
                               a run's phases, agents and findings (RUN: an id, or last), or one
                               agent's transcript (AGENT: its number or label); the run's
                               trace.html shows the same in a browser (--trace writes it again)
  dwf demo [options]           audit the bundled example API: agents find, verify and fix
                               its planted bugs, and its tests judge the fixes
  dwf init [options]           set up a repository: write .github/workflows/dynamic-workflows.yml
                               (the action pinned to a commit) and .github/dynamic-workflows.yml;
                               asks on a terminal, else takes flags: --app | --no-app, --model M,
                               --budget-tokens N, --budget-usd X, --sweep with --sweep-budget-usd X
                               or --sweep-budget-tokens N, --action-ref SHA|OWNER/NAME@SHA|./PATH,
                               --action-repo OWNER/NAME, --app-login LOGIN, --repo DIR, --yes, --force
  dwf init --check [--repo DIR] check the set-up: the workflow against GitHub's schema and the
                               dispatch inputs, the configuration against ours; each problem with its fix

run options:
  --args JSON                  arguments for the script (its \`args\` global)
  --model M                    ${MODEL_HELP} (default: sim)
  --concurrency N              agents at once, 1-${MAX_CONCURRENCY} (default ${MAX_CONCURRENCY})
  --max-agents N               agents per run, 1-${MAX_AGENTS} (default ${MAX_AGENTS})
  --budget-tokens N            hard ceiling on billed tokens (input, cache and output)
  --budget-usd X               hard ceiling in dollars (models with a known price)
  --runs-dir DIR               where run directories go (default .dwf/runs)
  --resume RUN_ID              replay that run's completed agents at no cost, run the rest live
  --repo DIR                   the repository agents work on, in a worktree on a new branch
                               dwf/RUN_ID; its .claude/workflows/ are what workflow() can use (default .)
  --oracle CMD                 the test command for oracle() and the agents' run_tests tool
  --oracle-timeout SECONDS     how long the test command may run (default 600)
  --allow-command CMD          a command line agents may run, as a prefix (repeatable)
  --no-isolation               run the test command and allowed commands unisolated, as this user
                               (default: isolated as another user in its own namespaces, or refused
                               where that cannot be set up: it needs root or passwordless sudo)
  --json                       print one JSON object with the outcome instead of a summary

exit status: 0 completed, 1 failed or stopped, 2 bad usage`;

/**
 * `dwf validate FILE [--repo DIR]`: the script's static checks, and the agent types it names
 * against the definitions of the repository (default: this directory) and the built-ins.
 */
function validate(rest: string[], io: CliIo): number {
  const { values, positionals } = parseFlags('validate', rest, { repo: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('validate takes one FILE');
  const file = positionals[0]!;
  const source = readScript(io, file);
  const checked = checkScript(source);
  if (!checked.ok) {
    io.stdout.write(`${formatDiagnostics(file, checked.diagnostics)}\n`);
    return 1;
  }
  const dirs = [
    join(BUILTIN_DIR, 'agents'),
    ...repositoryDefinitionDirs(resolve(io.cwd, values.repo ?? '.')),
  ];
  const definitions = loadAgentDefinitions(dirs);
  const unknown = agentTypesIn(source).filter((name) => !definitions.has(name));
  if (unknown.length > 0) {
    io.stdout.write(
      unknown.map((name) => `${file}: ${unknownAgentType(name, definitions.keys(), dirs)}\n`).join(''),
    );
    return 1;
  }
  const phases = checked.meta.phases?.map((p) => p.title) ?? [];
  io.stdout.write(
    `${file}: valid workflow "${checked.meta.name}"` +
      (phases.length > 0
        ? `, ${plural(phases.length, 'phase')}: ${phases.join(', ')}`
        : ', no phases declared') +
      '\n',
  );
  return 0;
}

/** The `dwf` command. Returns the exit status; never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return validate(rest, io);
      case 'run':
        return (await run(rest, io)).code;
      case 'runs':
        return runs(rest, io);
      case 'show':
        return await show(rest, io);
      case 'demo':
        return await demo(rest, io);
      case 'plan':
        return await plan(rest, io);
      case 'init':
        return await init(rest, io);
      case 'version':
      case '--version':
      case '-V':
        io.stdout.write(`dwf ${VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const usage =
      error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    io.stderr.write(`dwf: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) {
      io.stderr.write("run 'dwf help' for usage\n");
      return 2;
    }
    return 1;
  }
}
