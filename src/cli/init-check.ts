import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import yaml from 'js-yaml';
import { CONFIG_FILE, type Config, parseConfig } from '../github/config.js';
import { DISPATCH_INPUTS } from '../github/dispatch.js';

/** One thing wrong with a set-up: where, what, and how to fix it. */
export interface Problem {
  file: string;
  problem: string;
  fix: string;
}

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string> | string;
  steps?: Step[];
}
interface Workflow {
  on?: Record<string, unknown> | string | string[];
  jobs?: Record<string, Job>;
}

const SYNTAX = 'https://docs.github.com/actions/writing-workflows/workflow-syntax-for-github-actions';

/** What each job needs of the job token (the same table as test/action/workflow-file.test.ts pins). */
const PERMISSIONS: Record<string, Record<string, string>> = {
  commands: { contents: 'read', issues: 'write', 'pull-requests': 'write', actions: 'write' },
  workflow: { contents: 'write', 'pull-requests': 'write', issues: 'write', actions: 'read' },
  // A sharded run's jobs: the progress comment (issues, pull requests), a resume's artifacts
  // (actions); only the merge pushes.
  shards: { issues: 'write', 'pull-requests': 'write', actions: 'read' },
  shard: { issues: 'write', 'pull-requests': 'write', actions: 'read' },
  merge: { contents: 'write', 'pull-requests': 'write', issues: 'write', actions: 'read' },
};

/** The jobs of the sharded path, which `mode: sharded` dispatches (src/cli/init-workflow.ts). */
const SHARDED_JOBS = ['shards', 'shard', 'merge'];
const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };

interface ValidatorError {
  path?: string;
  title?: string;
  detail?: string;
  states?: Array<{ errors: ValidatorError[] }>;
}

/** A validator's error in one line: for "one of" errors, the alternative that came closest. */
function describeError(error: ValidatorError): string {
  if (error.states?.length) {
    const closest = [...error.states].sort((a, b) => a.errors.length - b.errors.length)[0]!;
    return closest.errors.map(describeError).join('; ');
  }
  return `${error.path || '/'}: ${error.detail ?? error.title ?? 'invalid'}`;
}

/** GitHub's workflow schema, through @action-validator/core (the SchemaStore schema, in wasm). */
async function schemaProblems(file: string, text: string): Promise<Problem[]> {
  let validate: ((text: string) => { errors: ValidatorError[] }) | undefined;
  try {
    const module = (await import('@action-validator/core')) as unknown as {
      validateWorkflow?: typeof validate;
      default?: { validateWorkflow?: typeof validate };
    };
    validate = module.validateWorkflow ?? module.default?.validateWorkflow;
  } catch {}
  if (!validate) {
    return [
      {
        file,
        problem: "GitHub's workflow schema could not be checked: @action-validator/core is not installed",
        fix: 'run dwf from a clone of dynamic-workflows after `npm ci`',
      },
    ];
  }
  return validate(text).errors.map((error) => ({
    file,
    problem: `not a valid GitHub workflow: ${describeError(error)}`,
    fix: `correct it (${SYNTAX}), or rewrite the file with \`dwf init --force\``,
  }));
}

/** The dispatch's inputs: exactly those the app and the commands job send (src/github/dispatch.ts). */
export function inputProblems(file: string, workflow: Workflow): Problem[] {
  const on = workflow.on;
  const dispatch =
    on && typeof on === 'object' && !Array.isArray(on)
      ? (on.workflow_dispatch as { inputs?: Record<string, { required?: boolean }> } | null | undefined)
      : undefined;
  if (dispatch === undefined) {
    return [
      {
        file,
        problem: 'no workflow_dispatch trigger: the app and the commands job cannot start plans and runs',
        fix: `add \`workflow_dispatch:\` with the inputs ${DISPATCH_INPUTS.join(', ')} under \`on:\` (dwf init writes them)`,
      },
    ];
  }
  const inputs = dispatch?.inputs ?? {};
  const declared = Object.keys(inputs);
  const problems: Problem[] = [];
  for (const name of DISPATCH_INPUTS.filter((n) => !declared.includes(n))) {
    problems.push({
      file,
      problem: `the workflow_dispatch trigger does not declare the input \`${name}\`, which the app sends (GitHub refuses such a dispatch)`,
      fix: `add \`${name}: { type: string, required: false }\` under on.workflow_dispatch.inputs`,
    });
  }
  for (const name of declared.filter((n) => !DISPATCH_INPUTS.includes(n))) {
    problems.push({
      file,
      problem: `the input \`${name}\` is not one the app sends`,
      fix: `remove it from on.workflow_dispatch.inputs (the inputs are exactly ${DISPATCH_INPUTS.join(', ')})`,
    });
  }
  for (const [name, input] of Object.entries(inputs)) {
    if (name !== 'mode' && input?.required === true && DISPATCH_INPUTS.includes(name)) {
      problems.push({
        file,
        problem: `the input \`${name}\` is required, but only some modes send it`,
        fix: `set \`required: false\` on on.workflow_dispatch.inputs.${name}`,
      });
    }
  }
  return problems;
}

/** Where the action comes from: pinned to a commit, or a vendored copy in the repository. */
function stepProblems(file: string, repoDir: string, workflow: Workflow): Problem[] {
  const problems: Problem[] = [];
  const steps = Object.values(workflow.jobs ?? {}).flatMap((job) => job?.steps ?? []);
  const ours = steps.filter((s) => typeof s.uses === 'string' && !/^(actions|docker)[:/]/.test(s.uses));
  if (ours.length === 0) {
    problems.push({
      file,
      problem: 'no step uses the Dynamic Workflows action',
      fix: 'rewrite the file with `dwf init --force`',
    });
  }
  for (const uses of new Set(ours.map((s) => s.uses!))) {
    if (uses.startsWith('./')) {
      if (!existsSync(join(repoDir, normalize(uses), 'action.yml'))) {
        problems.push({
          file,
          problem: `\`uses: ${uses}\` names a vendored copy of the action, but ${uses}/action.yml does not exist`,
          fix: `copy action/action.yml and action/dist/ of dynamic-workflows to ${uses} (dwf init --action-ref ${uses} does it)`,
        });
      }
      continue;
    }
    const ref = uses.split('@')[1] ?? '';
    if (uses.startsWith('OWNER/')) {
      problems.push({
        file,
        problem: `\`uses: ${uses}\` is the example's placeholder`,
        fix: 'name where dynamic-workflows lives and a commit: `uses: OWNER/NAME/action@<40-character sha>`',
      });
    } else if (!/^[0-9a-f]{40}$/.test(ref)) {
      problems.push({
        file,
        problem: `\`uses: ${uses}\` is not pinned to a commit: a tag or branch can move or point at nothing`,
        fix: 'pin it to a full commit sha: `uses: OWNER/NAME/action@<40-character sha>` (dwf init --action-ref SHA)',
      });
    }
  }
  if (!ours.some((s) => s.with && 'anthropic_api_key' in s.with)) {
    problems.push({
      file,
      problem: 'no step passes the model key: every plan and run needs it',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
      fix: "add `anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}` to the action's step in the workflow job",
    });
  }
  return problems;
}

function permissionProblems(file: string, workflow: Workflow): Problem[] {
  const problems: Problem[] = [];
  for (const [name, needs] of Object.entries(PERMISSIONS)) {
    const job = workflow.jobs?.[name];
    if (!job) {
      if (name === 'workflow') {
        problems.push({
          file,
          problem: 'no job named `workflow`: nothing plans or runs',
          fix: 'rewrite the file with `dwf init --force`',
        });
      }
      continue;
    }
    const granted = typeof job.permissions === 'object' ? job.permissions : {};
    const missing = Object.entries(needs).filter(([scope, level]) => {
      const has = typeof job.permissions === 'string' ? job.permissions.replace('-all', '') : granted[scope];
      return (LEVEL[has ?? 'none'] ?? 0) < LEVEL[level]!;
    });
    if (missing.length > 0) {
      problems.push({
        file,
        problem: `the job \`${name}\` lacks ${missing.map(([s, l]) => `${s}: ${l}`).join(', ')}`,
        fix: `add them under jobs.${name}.permissions`,
      });
    }
  }
  return problems;
}

/** Sharding is on (maxShards above 1), but the workflow has no sharded path to run a sharded plan. */
function shardProblems(file: string, workflow: Workflow, config: Config): Problem[] {
  const absent = SHARDED_JOBS.filter((name) => !workflow.jobs?.[name]);
  if (config.maxShards <= 1 || absent.length === 0) return [];
  return [
    {
      file,
      problem: `${CONFIG_FILE} sets maxShards to ${config.maxShards}, but the workflow has no job ${absent.map((n) => `\`${n}\``).join(', ')}: an approved sharded plan dispatches \`mode: sharded\`, which those jobs run`,
      fix: 'rewrite the file with `dwf init --force` (or copy the shards, shard and merge jobs from action/workflow-example.yml in dynamic-workflows)',
    },
  ];
}

function sweepProblems(file: string, workflow: Workflow, config: Config): Problem[] {
  const on = workflow.on;
  const scheduled = on && typeof on === 'object' && !Array.isArray(on) && 'schedule' in on;
  const budget = config.sweep?.budget;
  if (!scheduled || budget?.tokens !== undefined || budget?.usd !== undefined) return [];
  return [
    {
      file,
      problem: `a schedule starts the security sweep, but ${CONFIG_FILE} sets no sweep.budget: the sweep refuses to run without its own budget`,
      fix: `set \`sweep: { budget: { usd: 5 } }\` (or tokens) in ${CONFIG_FILE}, or remove the schedule`,
    },
  ];
}

/** The configuration file against our schema; absent is valid (every key has a default). */
export function configProblems(repoDir: string): { problems: Problem[]; config?: Config } {
  const path = join(repoDir, CONFIG_FILE);
  if (!existsSync(path)) return { problems: [], config: defaults() };
  let raw: unknown;
  try {
    raw = yaml.load(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    return { problems: [{ file: CONFIG_FILE, problem: `not YAML: ${reason}`, fix: 'correct the YAML' }] };
  }
  const parsed = parseConfig(raw);
  if (parsed.ok) return { problems: [], config: parsed.config };
  return {
    problems: parsed.problems.map((problem) => ({
      file: CONFIG_FILE,
      problem,
      fix: 'see docs/configuration.md in dynamic-workflows for the keys and their values',
    })),
  };
}

/** Every problem of the set-up in a repository: the workflow file, the configuration, the inputs. */
export async function checkSetup(repoDir: string): Promise<{ problems: Problem[]; workflowFile: string }> {
  const { problems, config } = configProblems(repoDir);
  const workflowFile = `.github/workflows/${config?.workflowFile ?? 'dynamic-workflows.yml'}`;
  const path = join(repoDir, workflowFile);
  if (!existsSync(path)) {
    problems.push({
      file: workflowFile,
      problem:
        'no such file: the app and the commands job dispatch this workflow (the configuration names it in workflowFile)',
      fix: 'run `dwf init` to write it',
    });
    return { problems, workflowFile };
  }
  const text = readFileSync(path, 'utf8');
  let workflow: Workflow;
  try {
    workflow = (yaml.load(text) ?? {}) as Workflow;
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    problems.push({ file: workflowFile, problem: `not YAML: ${reason}`, fix: 'correct the YAML' });
    return { problems, workflowFile };
  }
  problems.push(
    ...(await schemaProblems(workflowFile, text)),
    ...inputProblems(workflowFile, workflow),
    ...stepProblems(workflowFile, repoDir, workflow),
    ...permissionProblems(workflowFile, workflow),
    // An invalid configuration is reported above; whether it sets a sweep budget is then unknown.
    ...(config ? sweepProblems(workflowFile, workflow, config) : []),
    ...(config ? shardProblems(workflowFile, workflow, config) : []),
  );
  return { problems, workflowFile };
}

function defaults(): Config | undefined {
  const parsed = parseConfig({});
  return parsed.ok ? parsed.config : undefined;
}

/** The problems as the terminal shows them: the file and the problem, then the fix. */
export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.file}: ${p.problem}\n  fix: ${p.fix}\n`).join('');
}
