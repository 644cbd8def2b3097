import { z } from 'zod';
import { sha256 } from '../plan/sha256.js';
import { writeMarker } from './markers.js';

const level = z.enum(['read', 'triage', 'write', 'maintain', 'admin']);

/** `.github/dynamic-workflows.yml`, with organisation defaults merged in by Probot. */
export const configSchema = z
  .object({
    model: z.string().min(1).default('anthropic:claude-sonnet-5-5'),
    budget: z
      .object({ tokens: z.number().int().positive().optional(), usd: z.number().positive().optional() })
      .strict()
      .default({ tokens: 5_000_000 }),
    concurrency: z.number().int().min(1).max(16).default(16),
    maxAgents: z.number().int().min(1).max(1000).default(1000),
    approvers: z
      .object({ permission: level.default('write'), users: z.array(z.string().min(1)).default([]) })
      .strict()
      .default({ permission: 'write', users: [] }),
    /** The permission needed to ask for a plan; defaults to the approvers' level. */
    triggerPermission: level.optional(),
    requireDistinctApprover: z.boolean().default(false),
    allowBots: z.array(z.string().min(1)).default([]),
    oracle: z
      .object({
        command: z.string().min(1).optional(),
        timeoutSeconds: z.number().int().positive().default(600),
      })
      .strict()
      .optional(),
    scope: z
      .object({ include: z.array(z.string()).default([]), exclude: z.array(z.string()).default([]) })
      .strict()
      .optional(),
    sweep: z
      .object({
        template: z.enum(['sweep', 'audit', 'bug-hunt']).default('sweep'),
        budget: z
          .object({ tokens: z.number().int().positive().optional(), usd: z.number().positive().optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    workflowFile: z.string().min(1).default('dynamic-workflows.yml'),
    /**
     * Repository code (the test command, allowed commands, the baseline) runs isolated, or not at
     * all where isolation cannot be set up (`required`); `off` runs it unisolated, as the job's user.
     */
    isolation: z.enum(['required', 'off']).default('required'),
    /** Names of environment variables whose values are secrets: redacted everywhere, like the tokens. */
    redactEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'))
      .default([]),
    /**
     * Commit the run's report.md and usage.json on its branch too. By default the branch holds only
     * the changes: the report is the pull request's body and in the run's artifact.
     */
    commitReport: z.boolean().default(false),
    /** The app's bot login, whose approvals the runner trusts (besides github-actions[bot]). */
    appLogin: z.string().min(1).default('dynamic-workflows[bot]'),
  })
  .strict();

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
