import type { FinishedRun } from '../flows/run.js';
import { failureList } from '../report/failures.js';
import type { ProgressState } from '../report/progress-state.js';
import { codeSpan, findingsOf, sensitiveChanges } from '../report/report.js';
import { traceArtifactLine } from '../report/trace-diagram.js';
import { runMarker } from './approval.js';
import { HELP } from './commands.js';
import {
  type ApprovalMarker,
  mention,
  neutralise,
  type PlanMarker,
  quoteUserText,
  validMarker,
  writeMarker,
} from './markers.js';
import { type ProgressInfo, progressMarker } from './progress-texts.js';

/**
 * Every text the bot writes (comments, job summaries, pull requests) but the plan comment
 * (`plan-comment.ts`) and the configuration notice (`config.ts`): pure, data in and markdown out.
 * Text a user or a model wrote goes through `quoteUserText`, `mention` or `neutralise`; markers
 * through `writeMarker`.
 */

/** The marker that answers a command comment, so a redelivered webhook does nothing twice. */
const ack = (commentId: number) => writeMarker('ack', commentId);

type Estimate = NonNullable<PlanMarker['estimate']>;
type Usage = FinishedRun['usage'];

const usdRange = (e: Estimate) => (e.usd ? `, $${e.usd.min.toFixed(2)}–$${e.usd.max.toFixed(2)}` : '');
const actual = (u: Usage) => `Actual: ${u.agents} agents${u.usd !== null ? `, $${u.usd.toFixed(2)}` : ''}.`;
const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

// The command handlers' answers.

/** A malformed command: what is wrong with it, then the help text. */
export const commandProblem = (error: string) => `${error}.\n\n${HELP}`;

/** The help text, for `/workflow help`. */
export const help = () => HELP;

/** The one who commented may not do what the command asks. */
export const nothingDone = (reason: string) => `Nothing was done: ${reason}.`;

/** A comment asked for a plan: what, for whom, where to follow it; answers the comment. */
export function planningStarted(o: {
  request: string;
  requester: string;
  runUrl: string;
  commentId: number;
}) {
  return (
    `Planning ${quoteUserText(o.request)} for ${mention(o.requester)}: the assessment, the script and its estimate will be posted here. ` +
    `Follow [the planning run](${o.runUrl}).\n\n${ack(o.commentId)}`
  );
}

/** `/approve` was refused: why. */
export const notApproved = (reason: string) => `Not approved: ${reason}.`;

/** `/approve` dispatched the run: who approved which plan and script, the estimate; the approval's marker. */
export function approved(o: {
  approval: ApprovalMarker;
  estimate?: Estimate | undefined;
  /** A sharded plan: how many runners it is split across. */
  shards?: number;
  actionsUrl: string;
}) {
  const { approval: a, estimate: e } = o;
  const estimate = e ? ` Estimate: ${e.agents.min}–${e.agents.max} agents${usdRange(e)}.` : '';
  const split = o.shards ? `, split across ${o.shards} runners (a job each, then one merge)` : '';
  return (
    `Approved by ${mention(a.approver)}: plan \`${a.planId}\`, script \`sha256:${a.scriptSha256}\`.${estimate} ` +
    `The run is starting in [Actions](${o.actionsUrl})${split}; its pull request will be linked here.\n\n` +
    writeMarker('approval', a)
  );
}

/** `/workflow cancel` found no run of this issue. */
export const nothingToCancel = () => 'There is no running workflow for this issue to cancel.';

/** `/workflow cancel` cancelled these runs: who asked, links to them, how to go on; answers the comment. */
export function cancelled(o: {
  requester: string;
  runs: Array<{ id: number; url: string }>;
  commentId: number;
}) {
  return (
    `Cancelled at the request of ${mention(o.requester)}: ${o.runs.map((r) => `[run ${r.id}](${r.url})`).join(', ')}. ` +
    `What the run finished is kept; \`/workflow resume\` continues it.\n\n${ack(o.commentId)}`
  );
}

/** `/workflow revise` or `resume` without a plan in the thread. */
export const noPlanTo = (command: 'revise' | 'resume') =>
  `There is no plan in this thread to ${command}; ask for one with \`/workflow audit\`.`;

/** `/workflow resume` for a plan that never ran. */
export const nothingToResume = (planId: string) =>
  `Plan \`${planId}\` has no run to resume yet; approve it with \`/approve\`.`;

/** `/workflow resume` dispatched: which plan and run, for whom, where; answers the comment. */
export function resuming(o: {
  planId: string;
  runId: string;
  /** A sharded run: only its shards that did not complete run again. */
  shards?: number;
  requester: string;
  actionsUrl: string;
  commentId: number;
}) {
  const what = o.shards
    ? `only the shards of ${o.shards} that did not complete run again, from their journals; completed agents are replayed at no cost`
    : 'completed agents are replayed at no cost';
  return `Resuming plan \`${o.planId}\` (run \`${o.runId}\`) for ${mention(o.requester)}: ${what}. See [Actions](${o.actionsUrl}).\n\n${ack(o.commentId)}`;
}

/** `/workflow status`: the newest plan (if any) and its approval (if any). */
export function planStatus(plan: PlanMarker | undefined, approval: ApprovalMarker | undefined): string {
  if (!plan) return 'No plan in this thread yet: ask for one with `/workflow audit`.';
  return approval
    ? `Plan \`${plan.planId}\` was approved by ${mention(approval.approver)} and dispatched; the run reports back here.`
    : `Plan \`${plan.planId}\` (requested by ${mention(plan.requester)}) is waiting for \`/approve\`.`;
}

/** The one who added a `workflow:` label may not trigger a plan. */
export const labelRefused = (label: string, reason: string) =>
  `Nothing was done for the label ${quoteUserText(label)}: ${reason}.`;

/** A `workflow:` label asked for a plan: what, for whom, which label. */
export const planningStartedByLabel = (o: {
  request: string;
  requester: string;
  label: string;
  actionsUrl: string;
}) =>
  `Planning ${quoteUserText(o.request)} for ${mention(o.requester)} (label ${quoteUserText(o.label)}). See [Actions](${o.actionsUrl}).`;

const ENDINGS = {
  failure: 'failed',
  cancelled: 'was cancelled',
  timed_out: 'timed out',
  startup_failure: 'could not start',
} as const;

/** A job that ended badly: how, its logs, how to resume; its marker when the page is a plain web address. */
export function workflowRunEnded(conclusion: keyof typeof ENDINGS, runUrl: string): string {
  // A run page that is not a plain web address still gets its notice, without a marker to find it by.
  const ended = validMarker('run-ended', runUrl) ? `\n\n${writeMarker('run-ended', runUrl)}` : '';
  return (
    `The workflow run ${ENDINGS[conclusion]}: [logs](${runUrl}). Work done so far is kept in its run directory (uploaded as an artifact) and on its branch, if it changed anything. ` +
    `Reply \`/workflow resume\` to continue from its journal: completed agents are replayed at no cost.${ended}`
  );
}

// The action's comments and job summaries.

/** The plan job refused the dispatch (comment and job summary). */
export const didNotPlan = (reason: string) => `Did not plan: ${reason}.`;

/** The plan job's summary: the issue, the verdict and the script's sha256. */
export const planSummary = (issue: number, verdict: string, scriptSha256?: string | null) =>
  `Plan for #${issue}: verdict \`${verdict}\`${scriptSha256 ? `, script sha256:${scriptSha256}` : ''}.`;

/** The run job refused to run (its comment). */
export const didNotRun = (reason: string) => `Did not run: ${reason}.`;

/** The run job refused to run (its job summary). */
export const refusedToRun = (reason: string) => `Refused to run: ${reason}.`;

/** Any job that failed: what the issue hears (the message already redacted), and how to go on. */
export const jobFailed = (mode: string, message: string) =>
  `The ${mode} job failed: ${message}\n\nIts run directory is uploaded as an artifact; reply \`/workflow resume\` to continue a run from its journal.`;

/** The sweep's summary when it did not run. */
export const sweepSkipped = (reason: string) => `The sweep did not run: ${reason}`;

/** The sweep's summary: its new findings and pull request, or that there was nothing new. */
export const sweepSummary = (newFindings: number, pullRequest?: { url: string }) =>
  pullRequest
    ? `The sweep found ${newFindings} new findings: ${pullRequest.url}`
    : 'The sweep found nothing new; no pull request was opened.';

// The progress comment of a run: src/github/progress-texts.ts (its own file for its size), re-exported.

export { type ProgressInfo, progressMarker, runProgress, shardedProgress } from './progress-texts.js';

type Ended = Pick<FinishedRun, 'status' | 'error'> &
  Partial<Pick<FinishedRun, 'failedAgents' | 'failures' | 'usage' | 'replayedAgents'>>;

/** `2 of 5 agents failed (API error 500 ×2)`, or nothing when none failed. */
export function failedAgents(summary: Ended): string {
  const failed = summary.failedAgents ?? 0;
  if (failed === 0) return '';
  const all = (summary.usage?.agents ?? failed) + (summary.replayedAgents ?? 0);
  return `${failed} of ${plural(all, 'agent')} failed (${neutralise(failureList(summary.failures ?? {}))})`;
}

/** How a run ended, in one line: its pull request, or why it stopped and how to resume; how many agents failed. */
export function runEnded(summary: Ended, pullRequest: { url: string } | undefined): string {
  const failed = failedAgents(summary);
  if (summary.status === 'completed') {
    if (pullRequest) return `The run completed: ${pullRequest.url}${failed ? `. ${failed}.` : ''}`;
    return failed
      ? `The run completed with no changes and no findings, but ${failed}: its report, in the run's artifact, says why.`
      : 'The run completed with no changes and no findings: nothing to review.';
  }
  return (
    `The run ${summary.status === 'stopped' ? 'stopped' : 'failed'}: ${neutralise(summary.error ?? 'no error recorded')}. ` +
    `${pullRequest ? `What it finished is in ${pullRequest.url}. ` : ''}Reply \`/workflow resume\` to continue from its journal.`
  );
}

/** The progress comment's last version: how the run ended, and the run's marker. */
export const runEndedComment = (
  summary: Ended & { runId?: string },
  pullRequest: { url: string } | undefined,
  state: ProgressState,
  info: ProgressInfo,
) => {
  const trace =
    info.runUrl && info.actionsRunId && summary.runId
      ? `\n\n${traceArtifactLine({ runUrl: info.runUrl, actionsRunId: info.actionsRunId, runId: summary.runId })}`
      : '';
  return `${runEnded(summary, pullRequest)}${trace}\n\n${progressMarker(state, info)}`;
};

// The pull request of a run.

/**
 * The first lines of the body when the run changed files that control the repository
 * (`.gitattributes`, `.github/**`, `CODEOWNERS`…): a reviewer sees them before anything else.
 */
function carefulLook(changedFiles: readonly string[]): string {
  const sensitive = sensitiveChanges(changedFiles);
  if (sensitive.length === 0) return '';
  return [
    '> [!WARNING]',
    '> **Needs a careful look**: this pull request changes files that control the repository, git or GitHub:',
    ...sensitive.map((s) => `> - ${codeSpan(s.file, false)}: ${s.why}`),
    '',
    '',
  ].join('\n');
}

/** Right under the warnings of a pull request: how many agents failed and why, when any did. */
function failedNotice(summary: FinishedRun): string {
  const failed = failedAgents(summary);
  if (!failed) return '';
  return [
    '> [!WARNING]',
    `> **${failed}**: their part of the work is missing here; the report's Failures section says why.`,
    '',
    '',
  ].join('\n');
}

/** What a pull request is for: an approved plan, or a sweep with the findings earlier sweeps reported. */
export type PullRequestAbout =
  | { marker: PlanMarker; approver: string; issue: number }
  | { sweep: true; known: string[] };

/** The pull request: its body is the report, with what was approved and the estimate against the actual. */
/** What the pull request adds beside the report: the fixes counted, the run's diagram, where its trace is. */
export interface PullRequestExtras {
  /** Fixes the run's record bears out (report/reconcile.ts); default: those the script claims. */
  fixed?: number;
  /** A Mermaid diagram of the run's phases (report/trace-diagram.ts), fenced. */
  diagram?: string;
  /** The line naming the artifact with the trace page and transcripts. */
  trace?: string;
}

export function pullRequestFor(
  summary: FinishedRun,
  report: string,
  plan: PullRequestAbout,
  changedFiles: readonly string[] = [],
  extras: PullRequestExtras = {},
): { title: string; body: string } {
  const careful = carefulLook(changedFiles) + failedNotice(summary);
  const findings = findingsOf(summary.result);
  const fixed = extras.fixed ?? findings.filter((f) => f.status === 'fixed').length;
  const run = [...(extras.diagram ? [extras.diagram, ''] : []), ...(extras.trace ? [extras.trace, ''] : [])];
  const name = /^# ([^:\n]+)/.exec(report)?.[1] ?? 'workflow';
  const title = `${name}: ${fixed > 0 ? plural(fixed, 'fix', 'fixes') : plural(findings.length, 'finding')} (run ${summary.runId})`;
  const u = summary.usage;
  if ('sweep' in plan) {
    // The fingerprints of everything sweeps have reported so far: the next sweep leaves them out.
    const known = [
      ...new Set([
        ...plan.known,
        ...findings
          .map((f) => (f as { fingerprint?: string }).fingerprint)
          .filter((f): f is string => typeof f === 'string' && validMarker('sweep-known', [f])),
      ]),
    ];
    const head = `${careful}The scheduled security sweep found ${plural(findings.length, 'new finding')}. ${actual(u)}\n\n${run.map((l) => `${l}\n`).join('')}---\n\n`;
    // The marker is the body's last line, where knownFrom reads it.
    return { title, body: `${head}${report}\n${writeMarker('sweep-known', known.slice(-10_000))}\n` };
  }
  const e = plan.marker.estimate;
  const estimate = e
    ? `Estimate: ${e.agents.min}–${e.agents.max} agents${usdRange(e)}. ${actual(u)}`
    : actual(u);
  const head = [
    `${careful}Plan \`${plan.marker.planId}\` (script \`sha256:${plan.marker.scriptSha256}\`), requested by @${plan.marker.requester} and approved by @${plan.approver} in #${plan.issue}.`,
    estimate,
    '',
    ...run,
    'Automated changes: review them like any contribution; the report says where to look first.',
    '',
    '---',
    '',
  ].join('\n');
  return { title, body: head + report };
}

// The end of a sharded run (issue 15).

/** How to run only the shards a sharded run is missing: the report's and the comment's words. */
export const resumeShardsHint = () =>
  'Reply `/workflow resume` on the issue to run only the missing shards again, from their journals; the shards already here are not run (nor paid for) again.';

/**
 * The progress comment's last version for a sharded run: its pull request and how many shards it
 * holds, which shards are missing and why, how to resume, and the run's marker (the merge's run id
 * and this Actions run, whose artifacts a resume downloads).
 */
export function shardsEnded(o: {
  planId: string;
  count: number;
  shards: ReadonlyArray<{ index: number; state: string; why?: string }>;
  pullRequest?: { url: string };
  attempt?: { runId: string; actionsRunId: string };
}): string {
  const inBranch = o.shards.filter((s) => s.state === 'merged' || s.state === 'no changes').length;
  const missing = o.shards.filter((s) => s.state === 'missing' || s.state === 'left out');
  const head =
    missing.length === 0
      ? `The sharded run completed: all ${o.count} shards${o.pullRequest ? ` are in ${o.pullRequest.url}` : ' completed with no changes to merge'}.`
      : `${inBranch} of ${o.count} shards completed${o.pullRequest ? `; their changes are in ${o.pullRequest.url}` : ''}. ` +
        `Missing: ${missing.map((s) => `shard ${s.index} (${neutralise(s.why ?? s.state)})`).join('; ')}. ${resumeShardsHint()}`;
  return `${head}\n\n${runMarker(o.planId, o.attempt)}`;
}
