import { z } from 'zod';
import { MAX_SHARDS } from '../plan/shards.js';
import { neutralise } from '../report/format.js';
import { MAX_SHARD_PHASE, type ShardState } from '../report/progress-state.js';
import { ids } from './ids.js';

/**
 * The bot's hidden markers: the only text in a thread the product trusts. A marker is an HTML
 * comment `<!-- dynamic-workflows:KIND JSON -->` on a line of its own, and it counts only
 *
 * - in a comment or pull request the bot itself wrote (its author is one of the trusted logins),
 * - where the bot writes it: a plan marker is the first line of its comment, every other marker the
 *   last line (a bot comment carries at most one marker),
 * - of the kind asked for, and only when its value passes that kind's schema.
 *
 * So text a user got the bot to repeat, a script the model wrote, or a comment by anyone else
 * never speaks for the bot, whatever it contains.
 */

export { MAX_SHARDS };

const usd = z.object({ min: z.number().nonnegative(), max: z.number().nonnegative() }).strict();

const count = z.number().int().nonnegative();

/** One shard's progress in a sharded run's progress comment (`ShardState`). */
const shardState = z
  .object({
    index: z
      .number()
      .int()
      .min(0)
      .max(MAX_SHARDS - 1),
    version: count,
    status: z.enum(['running', 'completed', 'failed', 'stopped']),
    phase: z.string().max(MAX_SHARD_PHASE),
    running: count,
    done: count,
    failed: count,
    queued: count,
    tokens: z.number().nonnegative(),
    usd: z.number().nonnegative().nullable(),
    t: z.number().nonnegative(),
  })
  .strict() satisfies z.ZodType<ShardState>;

export const markerSchemas = {
  /** A plan the bot posted: what `/approve` binds to. */
  plan: z
    .object({
      planId: ids.planId,
      scriptSha256: ids.sha256,
      baseSha: ids.commit,
      requester: ids.login,
      request: z.string().max(65_536),
      estimate: z
        .object({
          agents: z
            .object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() })
            .strict(),
          usd: usd.nullable(),
        })
        .strict()
        .optional(),
      /**
       * How many shards the run is split into (a job each in the workflow's matrix); present only
       * for a sharded plan (2 or more). The script's `shard(...)` call, which the hash covers, says the same.
       */
      shards: z.number().int().min(2).max(MAX_SHARDS).optional(),
    })
    .strict(),
  /** An approval the app recorded; `commentId` is the `/approve` comment it answers. */
  approval: z
    .object({ planId: ids.planId, scriptSha256: ids.sha256, approver: ids.login, commentId: ids.commentId })
    .strict(),
  /** The command comment the bot answered: a redelivered webhook does nothing twice. */
  ack: ids.commentId,
  /**
   * A plan has started running; with the engine's run id and the Actions run once known (what resuming
   * needs). The progress comment of a sharded run also carries every shard's state, which each
   * shard's job merges with its own when it updates the comment (`src/action/shard-progress.ts`).
   */
  run: z
    .object({
      planId: ids.planId,
      runId: ids.runId.optional(),
      actionsRunId: ids.actionsRunId.optional(),
      shards: z.array(shardState).max(MAX_SHARDS).optional(),
    })
    .strict(),
  /** The notice for a workflow run that ended badly was given (the run's page). */
  'run-ended': z.url({ protocol: /^https?$/ }).max(2048),
  /** The notice for an invalid configuration was given (a hash of its problems). */
  'config-problem': z.string().regex(/^[0-9a-f]{16}$/),
  /** Fingerprints of the findings sweeps reported so far, in a sweep's pull request. */
  'sweep-known': z.array(z.string().min(1).max(1000)).max(10_000),
} as const;

export type MarkerKind = keyof typeof markerSchemas;
export type MarkerValue<K extends MarkerKind> = z.infer<(typeof markerSchemas)[K]>;
export type PlanMarker = MarkerValue<'plan'>;
export type ApprovalMarker = MarkerValue<'approval'>;
export type RunMarker = MarkerValue<'run'>;

/** A comment or a pull request: who wrote it and what it says. */
export interface Authored {
  body?: string | null | undefined;
  user: { login: string } | null;
}

const LINE = /^<!-- dynamic-workflows:([a-z-]+) (.*) -->$/;

/**
 * The marker line for a value; throws if the value does not pass its own kind's schema, so the bot
 * never writes a marker it would not read back.
 */
export function writeMarker<K extends MarkerKind>(kind: K, value: MarkerValue<K>): string {
  const checked = markerSchemas[kind].parse(value);
  // `--` cannot appear inside an HTML comment; JSON never needs it escaped otherwise.
  return `<!-- dynamic-workflows:${kind} ${JSON.stringify(checked).replace(/--/g, '-\\u002d')} -->`;
}

/** Whether a value would make a valid marker of that kind. */
export const validMarker = <K extends MarkerKind>(kind: K, value: unknown): value is MarkerValue<K> =>
  markerSchemas[kind].safeParse(value).success;

function lineFor(kind: MarkerKind, body: string): string | undefined {
  const lines = body.trimEnd().split(/\r?\n/);
  return (kind === 'plan' ? lines[0] : lines[lines.length - 1])?.trim();
}

/**
 * The marker of this kind the bot wrote in this comment or pull request, or nothing: nothing when
 * someone else wrote it, when the marker is not where the bot puts it, is of another kind, or does
 * not pass the kind's schema.
 */
export function readMarker<K extends MarkerKind>(
  kind: K,
  authored: Authored,
  trusted: readonly string[],
): MarkerValue<K> | undefined {
  if (!authored.user || !trusted.includes(authored.user.login) || !authored.body) return undefined;
  const found = LINE.exec(lineFor(kind, authored.body) ?? '');
  if (!found || found[1] !== kind) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(found[2]!);
  } catch {
    return undefined;
  }
  const parsed = markerSchemas[kind].safeParse(value);
  return parsed.success ? (parsed.data as MarkerValue<K>) : undefined;
}

/** Every marker of this kind the bot wrote in a thread, oldest first, with the comment holding it. */
export function markersIn<K extends MarkerKind, C extends Authored>(
  kind: K,
  thread: readonly C[],
  trusted: readonly string[],
): Array<{ comment: C; marker: MarkerValue<K> }> {
  return thread.flatMap((comment) => {
    const marker = readMarker(kind, comment, trusted);
    return marker === undefined ? [] : [{ comment, marker }];
  });
}

// The one escaping rule for text the bot repeats lives with the renderers, which use it too.
export { neutralise };

/**
 * User text (a request, feedback, a label, a title) as the bot repeats it: on one line, shortened,
 * neutralised, and inside a code span it cannot close (backticks become `'`).
 */
export function quoteUserText(text: string, max = 200): string {
  const flat = [...text.replace(/\s+/g, ' ').trim()];
  const short = flat.length > max ? `${flat.slice(0, max).join('')}…` : flat.join('');
  return `\`${neutralise(short).replace(/`/g, "'")}\``;
}

/** `@login` for a real GitHub login; anything else is quoted as text, never a mention. */
export function mention(login: string): string {
  return ids.login.safeParse(login).success ? `@${login}` : quoteUserText(login, 60);
}
