import { z } from 'zod';

/**
 * Every id the product takes from a comment, a dispatch input or an artifact, checked before it
 * names a path, an API route or a line of a comment. A name is letters, digits, `-` and `_` only:
 * nothing that can climb out of a directory (`..`, `/`) or out of a comment.
 */
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'letters, digits, - and _ only');

export const ids = {
  /** `plan-<Actions run id>`, or what a local planner chose. */
  planId: name,
  /** The engine's run directory name, e.g. `20261125-100000-a1b2c3`. */
  runId: name,
  /** GitHub Actions run ids are numbers, carried as text. */
  actionsRunId: z.string().regex(/^[1-9][0-9]{0,19}$/, 'digits only'),
  commentId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  issue: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  /** A git commit: sha1 (40 hex) or sha256 (64 hex) object names. */
  commit: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'a full git commit id'),
  /** A GitHub login; apps end in `[bot]`. */
  login: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/, 'a GitHub login'),
} as const;

export type IdKind = keyof typeof ids;

/** The id, or a sentence naming what is wrong with it (for a refusal). */
export function checkId<K extends IdKind>(
  kind: K,
  value: unknown,
  what: string,
): { ok: true; value: z.infer<(typeof ids)[K]> } | { ok: false; problem: string } {
  const parsed = ids[kind].safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as z.infer<(typeof ids)[K]> };
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  return {
    ok: false,
    problem: `${what} ${shown} is not a valid ${kind} (${parsed.error.issues[0]?.message ?? 'invalid'})`,
  };
}

/** Whether a value is a valid id of that kind. */
export const isId = (kind: IdKind, value: unknown): boolean => ids[kind].safeParse(value).success;
