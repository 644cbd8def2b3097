import { z } from 'zod';
import { sha256 } from '../plan/sha256.js';
import { MAX_SHARDS, writeMarker } from './markers.js';

const level = z
  .enum(['read', 'triage', 'write', 'maintain', 'admin'])
  .describe("A repository permission level, GitHub's names: read, triage, write, maintain, admin.");

/** A ceiling on a run: billed tokens (input, cache writes, cache reads, output) and/or dollars. */
const budgetOf = (what: string) =>
  z
    .object({
      tokens: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(`The most billed tokens ${what} may spend: input, cache writes, cache reads and output.`),
      usd: z
        .number()
        .positive()
        .optional()
        .describe(`The most dollars ${what} may spend (for models with a known price).`),
    })
    .strict();

/** `.github/dynamic-workflows.yml`, with organisation defaults merged in by Probot. */
export const configSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .default('anthropic:claude-sonnet-5-5')
      .describe(
        'The model agents use, `provider:model`: `anthropic:MODEL` (key from the ANTHROPIC_API_KEY secret).',
      ),
    budget: budgetOf('a run')
      .default({ tokens: 5_000_000 })
      .describe('The hard ceiling of every planned and approved run; the run stops when it is spent.'),
    concurrency: z.number().int().min(1).max(16).default(16).describe('Agents at once, 1 to 16.'),
    maxAgents: z.number().int().min(1).max(1000).default(1000).describe('Agents per run, 1 to 1000.'),
    maxShards: z
      .number()
      .int()
      .min(1)
      .max(MAX_SHARDS)
      .default(1)
      .describe(
        `The most runners (jobs of a matrix) a planned run may be split across, 1 to ${MAX_SHARDS}; 1, the default, never splits. Only workflows that declare \`meta.shard\` (audit, bug-hunt, migrate, sweep) split, each shard running its slice of the files.`,
      ),
    shardTargetMinutes: z
      .number()
      .positive()
      .default(60)
      .describe(
        "The wall time each shard should stay under, in minutes: the planner splits a run into as many shards as the estimate's maximum needs for that, up to `maxShards`.",
      ),
    approvers: z
      .object({
        permission: level
          .default('write')
          .describe('The least permission that may approve a plan (checked with the API when acting).'),
        users: z
          .array(z.string().min(1))
          .default([])
          .describe('Logins who may approve whatever their permission.'),
      })
      .strict()
      .default({ permission: 'write', users: [] })
      .describe('Who may reply `/approve` to a plan.'),
    /** The permission needed to ask for a plan; defaults to the approvers' level. */
    triggerPermission: level
      .optional()
      .describe("The least permission that may ask for a plan (`/workflow ...`); the approvers' by default."),
    requireDistinctApprover: z
      .boolean()
      .default(false)
      .describe('When true, whoever asked for a plan may not approve it.'),
    allowBots: z
      .array(z.string().min(1))
      .default([])
      .describe('Bot logins whose commands count; every other bot is ignored.'),
    oracle: z
      .object({
        command: z
          .string()
          .min(1)
          .optional()
          .describe(
            "The test command, e.g. `npm test`; found from the repository's conventions when absent.",
          ),
        timeoutSeconds: z
          .number()
          .int()
          .positive()
          .default(600)
          .describe('How long one run of the test command may take.'),
      })
      .strict()
      .optional()
      .describe('The objective oracle: the test command that judges fixes.'),
    scope: z
      .object({
        include: z.array(z.string()).default([]).describe('Globs of the files to work on (all when empty).'),
        exclude: z.array(z.string()).default([]).describe('Globs of files to leave out.'),
      })
      .strict()
      .optional()
      .describe('Which files a fan-out goes over.'),
    sweep: z
      .object({
        template: z
          .enum(['sweep', 'audit', 'bug-hunt'])
          .default('sweep')
          .describe('The built-in workflow the scheduled sweep runs.'),
        budget: budgetOf('one sweep')
          .optional()
          .describe(
            "The sweep's own ceiling, and its approval: a scheduled sweep refuses to run without it.",
          ),
        batch: z
          .boolean()
          .default(false)
          .describe(
            "Send the sweep's model requests through Anthropic's Message Batches API, at half the price (answers take minutes to hours; requests that error or expire are sent again as ordinary calls). Only for `anthropic:` models.",
          ),
      })
      .strict()
      .optional()
      .describe(
        'The scheduled security sweep (opt-in: it runs only when the workflow file has a `schedule:` trigger).',
      ),
    workflowFile: z
      .string()
      .regex(/^[\w.-]+\.ya?ml$/, 'must be a file name in .github/workflows/, e.g. dynamic-workflows.yml')
      .refine(
        (name) => !name.startsWith('.'),
        'must be a file name in .github/workflows/, e.g. dynamic-workflows.yml',
      )
      .default('dynamic-workflows.yml')
      .describe('The workflow file under `.github/workflows/` that the app and the commands job dispatch.'),
    /**
     * Repository code (the test command, allowed commands, the baseline) runs isolated, or not at
     * all where isolation cannot be set up (`required`); `off` runs it unisolated, as the job's user.
     */
    isolation: z
      .enum(['required', 'off'])
      .default('required')
      .describe(
        "`required`: repository code (the test command, allowed commands) runs isolated as another user, or not at all; `off`: as the job's own user.",
      ),
    /** Names of environment variables whose values are secrets: redacted everywhere, like the tokens. */
    redactEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'))
      .default([])
      .describe(
        'Environment variables whose values are secrets too: redacted like the token and the model key.',
      ),
    /**
     * Commit the run's report.md and usage.json on its branch too. By default the branch holds only
     * the changes: the report is the pull request's body and in the run's artifact.
     */
    commitReport: z
      .boolean()
      .default(false)
      .describe(
        "Also commit the run's report.md and usage.json on its branch (the pull request's body holds the report).",
      ),
    /** The app's bot login, whose approvals the runner trusts (besides github-actions[bot]). */
    appLogin: z
      .string()
      .min(1)
      .default('dynamic-workflows[bot]')
      .describe(
        "The GitHub App's bot login (`SLUG[bot]`): the runner trusts plans and approvals it posts. Set it when your app's name is not Dynamic Workflows.",
      ),
  })
  .strict()
  .describe('`.github/dynamic-workflows.yml`: the configuration of Dynamic Workflows on the default branch.');

export type Config = z.infer<typeof configSchema>;
export type PermissionLevel = z.infer<typeof level>;

export const CONFIG_FILE = '.github/dynamic-workflows.yml';

/** The configuration, or one line per bad field naming it and the problem. */
export function parseConfig(raw: unknown): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const parsed = configSchema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map(
      (issue) => `\`${issue.path.join('.') || '(the file)'}\`: ${issue.message}`,
    ),
  };
}

/** The comment naming every bad field; its marker lets a thread hold it once per distinct problem. */
export function configProblemComment(problems: string[]): string {
  return (
    `The configuration in \`${CONFIG_FILE}\` is not valid, so nothing was done:\n\n` +
    problems.map((p) => `- ${p}`).join('\n') +
    `\n\n${writeMarker('config-problem', sha256(problems.join('\n')).slice(0, 16))}`
  );
}
