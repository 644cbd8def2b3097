import { z } from 'zod';
import { ids } from './ids.js';

/**
 * The dispatch inputs: the contract between the sender (the app's handlers, or the app-less
 * commands job running them) and the receiver (the workflow job, `src/action/main.ts`). GitHub
 * carries every input as text, and a workflow's event lists every declared input, empty when the
 * dispatch did not set it; so each mode reads only its own inputs, and an empty one is absent.
 * `action/workflow-example.yml` declares exactly these inputs (test/action/workflow-file.test.ts).
 *
 * Every value is only a claim of whoever may dispatch the workflow: the job checks it against the
 * thread and the configuration on the default branch before it acts on it.
 */

/** Digits as text, to a number the id schema then checks. */
const numeric = (id: z.ZodNumber) =>
  z
    .string()
    .regex(/^[0-9]{1,20}$/, 'digits only')
    .transform(Number)
    .pipe(id);

/** An input the dispatch may leave empty. */
const optional = <T extends z.ZodType>(schema: T) =>
  z
    .literal('')
    .transform(() => undefined)
    .or(schema)
    .optional();

const issue = numeric(ids.issue);
const commentId = numeric(ids.commentId);

const planInputs = z.object({
  mode: z.literal('plan'),
  /** The issue or pull request the plan belongs to. */
  issue,
  /** What was asked: `audit`, `migrate TARGET`, `research QUESTION`, or words (a manual dispatch: audit). */
  request: z.string().default('audit'),
  /** Who asked; the plan job checks it against the asking comment or the label event. */
  requester: ids.login.default('unknown'),
  /** The comment that asked; empty for a label. */
  comment_id: optional(commentId),
  /** A revision: the plan comment it replaces, and the feedback (both, or it is a plain plan). */
  revise_plan_comment_id: optional(commentId),
  feedback: optional(z.string().min(1)),
});

const runInputs = z.object({
  mode: z.literal('run'),
  issue,
  /** The approved plan comment. */
  plan_comment_id: commentId,
  /** The sha256 of the approved script. */
  script_sha256: ids.sha256,
  /**
   * Who approved. Kept as an input although the job never reads it: GitHub shows a dispatch's
   * inputs on the run's page, so whoever looks at a run sees who approved it without the thread.
   * The job finds (and re-checks) the approval in the thread itself.
   */
  approver: optional(ids.login),
});

const resumeInputs = z.object({
  mode: z.literal('resume'),
  issue,
  plan_comment_id: commentId,
  script_sha256: ids.sha256,
  /** The Actions run whose artifact holds the journal to resume from. */
  resume_actions_run_id: ids.actionsRunId,
});

/**
 * A sharded run: the approved plan's marker names 2 or more shards, so the workflow's sharded path
 * runs it (the shards job, a matrix job per shard, the merge job) instead of the one workflow job.
 * A resume names the Actions run whose shard artifacts hold the journals; the shards job then runs
 * only the shards that did not complete there.
 */
const shardedInputs = z.object({
  mode: z.literal('sharded'),
  issue,
  plan_comment_id: commentId,
  script_sha256: ids.sha256,
  resume_actions_run_id: optional(ids.actionsRunId),
});

/** A manual dispatch of the weekly sweep: no other input. */
const sweepInputs = z.object({ mode: z.literal('sweep') });

export const dispatchSchema = z.discriminatedUnion('mode', [
  planInputs,
  runInputs,
  resumeInputs,
  shardedInputs,
  sweepInputs,
]);

/** The inputs once parsed: numbers as numbers, absent ones undefined. */
export type Dispatch = z.output<typeof dispatchSchema>;
export type DispatchMode = Dispatch['mode'];

/** What a sender fills in: the parsed shape, numbers as numbers. */
export type DispatchRequest =
  | (Omit<Extract<Dispatch, { mode: 'plan' }>, 'request' | 'requester'> & {
      request: string;
      requester: string;
    })
  | Extract<Dispatch, { mode: 'run' | 'resume' | 'sharded' | 'sweep' }>;

/** The modes a dispatch may name. */
export const DISPATCH_MODES: readonly string[] = dispatchSchema.options.map(
  (option) => option.shape.mode.value,
);

/** Every input the workflow declares: the keys of every mode's inputs. */
export const DISPATCH_INPUTS: readonly string[] = [
  ...new Set(dispatchSchema.options.flatMap((option) => Object.keys(option.shape))),
].sort();

/** One sentence naming the input and what is wrong with it (the value itself is never repeated). */
function problemOf(error: z.ZodError): string {
  const issue = error.issues[0];
  const input = issue?.path[0];
  if (input === undefined) return `the dispatch inputs are not valid (${issue?.message ?? 'invalid'})`;
  return `the dispatch input \`${String(input)}\` is not valid: ${issue!.message}`;
}

/** The inputs of a dispatch as the workflow event carries them, or one sentence naming the bad input. */
export function parseDispatch(
  raw: Record<string, unknown>,
): { ok: true; inputs: Dispatch } | { ok: false; problem: string } {
  const parsed = dispatchSchema.safeParse(raw);
  return parsed.success ? { ok: true, inputs: parsed.data } : { ok: false, problem: problemOf(parsed.error) };
}

/**
 * The inputs to send, as text (the API's `inputs`): checked by the receiver's schema first, so the
 * app never dispatches a job that would refuse its own inputs. Absent inputs are left out, except a
 * plan's `comment_id`, which is sent empty for a label so the job knows no comment asked.
 */
export function dispatchInputs(request: DispatchRequest): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(request)) if (value !== undefined) inputs[key] = String(value);
  if (request.mode === 'plan' && request.comment_id === undefined) inputs.comment_id = '';
  const parsed = parseDispatch(inputs);
  if (!parsed.ok) throw new Error(parsed.problem);
  return inputs;
}
