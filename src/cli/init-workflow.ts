/**
 * The workflow file `dwf init` writes (`.github/workflows/dynamic-workflows.yml`), and
 * `action/workflow-example.yml`, which is this text for a repository without the app
 * (`npm run docs` writes it; test/docs/generated.test.ts fails when it drifts).
 */

import { shardedJobs, uploadRuns } from './init-workflow-shards.js';

export interface WorkflowChoices {
  /** The GitHub App dispatches the workflow: no commands job, no comment or label triggers. */
  app: boolean;
  /** What the steps `uses:`: `OWNER/NAME/action@SHA`, or `./PATH` for a vendored copy. */
  uses: string;
  /** The weekly sweep's cron line, or undefined: no schedule (the sweep is opt-in). */
  sweepCron?: string | undefined;
}

export const SWEEP_CRON = '17 4 * * 1';

/**
 * The dispatch inputs, in the order a reader meets them, with what each is for. Exactly the keys
 * of the dispatch schema (src/github/dispatch.ts): `dwf init --check` and the tests hold them to it.
 */
export const INPUT_DESCRIPTIONS: ReadonlyArray<[name: string, description: string]> = [
  ['mode', '"plan, run, resume, sharded or sweep"'],
  ['issue', 'The issue or pull request the plan or run belongs to.'],
  ['request', '"For plan: what was asked (audit, migrate TARGET, research QUESTION, or words)."'],
  ['requester', '"For plan: who asked (checked against the asking comment or the label event)."'],
  [
    'comment_id',
    '"For plan: the comment that asked; empty for a label. The job reads it to check who asked for what."',
  ],
  ['plan_comment_id', '"For run, resume and sharded: the approved plan comment."'],
  ['script_sha256', '"For run, resume and sharded: the sha256 of the approved script."'],
  [
    'approver',
    '"For run: who approved (shown on the run\'s page; the job re-checks the approval from the thread)."',
  ],
  ['revise_plan_comment_id', '"For plan: the plan comment a revision replaces."'],
  ['feedback', '"For plan: the revision\'s feedback."'],
  [
    'resume_actions_run_id',
    '"For resume: the Actions run whose artifact holds the journal (for sharded: whose shard artifacts hold the journals)."',
  ],
];

function header(c: WorkflowChoices): string {
  const doors = c.app
    ? '# The GitHub App dispatches this workflow (plan, run, resume, sharded): install the app on the repository.'
    : '# Without the app: the issue_comment and issues triggers run the command handlers in the\n' +
      '# commands job, which dispatches the workflow (plan, run, resume, sharded), answering as github-actions[bot].';
  const sweep = c.sweepCron
    ? "# The schedule runs the security sweep with the configuration's sweep.budget as its approval\n# (it refuses to run without one)."
    : '# No scheduled sweep: it is opt-in (dwf init --sweep --sweep-budget-usd N, or the lines below).';
  return `# Dynamic Workflows: written by \`dwf init\`, checked by \`dwf init --check\`.
${doors}
${sweep}
# Add the secret ANTHROPIC_API_KEY (Settings → Secrets and variables → Actions). For the job token
# to open pull requests, enable Settings → Actions → General → "Allow GitHub Actions to create and
# approve pull requests".
name: dynamic workflows
run-name: "dynamic workflows #\${{ inputs.issue || github.event.issue.number || 'sweep' }} \${{ inputs.mode || github.event_name }}"
`;
}

function triggers(c: WorkflowChoices): string {
  const inputs = INPUT_DESCRIPTIONS.map(
    ([name, description]) =>
      `      ${name}:\n        description: ${description}\n        type: string\n` +
      (name === 'mode' ? '        required: true\n        default: plan\n' : '        required: false\n'),
  ).join('');
  const schedule = c.sweepCron
    ? `  schedule:\n    - cron: "${c.sweepCron}"\n`
    : '  # The weekly security sweep, opt-in: set sweep.budget in .github/dynamic-workflows.yml first.\n' +
      `  # schedule:\n  #   - cron: "${SWEEP_CRON}"\n`;
  const comments = c.app ? '' : '  issue_comment:\n    types: [created]\n  issues:\n    types: [labeled]\n';
  return `
on:
  # Sent by the app, or by the commands job below. Every value is re-checked by the job: the runner
  # trusts the thread and the configuration on the default branch, never an input's claim.
  # Exactly the inputs of the dispatch schema (src/github/dispatch.ts in dynamic-workflows).
  workflow_dispatch:
    inputs:
${inputs}${schedule}${comments}
# Nothing by default: each job names the least it needs.
permissions: {}

jobs:
`;
}

function commandsJob(c: WorkflowChoices): string {
  return `  commands:
    # Without the app: answer commands. The job starts for any comment that contains a command word
    # anywhere (GitHub expressions have no escapes, so '\\n/workflow' would be a literal backslash
    # and n, and a command on a later line would never start the job); the handler then reads the
    # comment and ignores it, without an API call, unless a line of its prose starts with the command.
    # Comments by bots (this workflow's own) never start a job.
    if: >-
      (github.event_name == 'issue_comment' && github.event.comment.user.type != 'Bot' &&
       (contains(github.event.comment.body, '/workflow') || contains(github.event.comment.body, '/approve'))) ||
      (github.event_name == 'issues' && startsWith(github.event.label.name, 'workflow:'))
    runs-on: ubuntu-latest
    timeout-minutes: 5
    # Reads the thread and the checkout's configuration, answers and reacts on the issue or pull
    # request (GitHub checks a comment on a pull request against pull-requests), dispatches the
    # workflow job and, for /workflow cancel, lists and cancels its runs. It pushes nothing.
    permissions:
      contents: read
      issues: write
      pull-requests: write
      actions: write
    concurrency:
      group: dynamic-workflows-commands-\${{ github.event.issue.number }}
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: ${c.uses}
        with:
          github_token: \${{ github.token }}

`;
}

function workflowJob(c: WorkflowChoices): string {
  return `  workflow:
    # Every dispatch but a sharded run (the shards, shard and merge jobs below), and the schedule.
    if: (github.event_name == 'workflow_dispatch' && inputs.mode != 'sharded') || github.event_name == 'schedule'
    runs-on: ubuntu-latest
    timeout-minutes: 360
    # Plan, run, resume and sweep: pushes the run's branch, opens its pull request (and lists the
    # sweep's earlier ones), comments on the thread, and on resume downloads an earlier run's
    # artifact. It dispatches and cancels nothing, so no actions: write.
    permissions:
      contents: write
      pull-requests: write
      issues: write
      actions: read
    # One plan or run per issue at a time. Only dispatches and the schedule enter this group, so
    # nothing the bot writes can cancel or displace a waiting run.
    concurrency:
      group: dynamic-workflows-\${{ inputs.issue || 'sweep' }}
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          # The action pushes with the token in its own process; nothing is left in .git/config.
          persist-credentials: false
      # /workflow resume: the journal of the earlier attempt, from its artifact.
      - uses: actions/download-artifact@v4
        if: inputs.mode == 'resume'
        with:
          name: dynamic-workflows-\${{ inputs.resume_actions_run_id }}
          run-id: \${{ inputs.resume_actions_run_id }}
          github-token: \${{ github.token }}
          path: \${{ runner.temp }}/dynamic-workflows-runs
      # The sweep: the runs directory of the sweep before it (its journal and the batches it
      # submitted), so a sweep that outlived its job goes on where it stopped instead of paying again.
      - uses: actions/cache/restore@v4
        if: github.event_name == 'schedule' || inputs.mode == 'sweep'
        with:
          path: \${{ runner.temp }}/dynamic-workflows-runs
          key: dynamic-workflows-sweep-\${{ github.run_id }}
          restore-keys: dynamic-workflows-sweep-
      # Set up whatever the repository's tests need here (setup-node, setup-python, ...).
      - uses: ${c.uses}
        with:
          github_token: \${{ github.token }}
          anthropic_api_key: \${{ secrets.ANTHROPIC_API_KEY }}
      # A failed or cancelled job still ends with a comment on the issue that says how to resume.
      - uses: ${c.uses}
        if: (failure() || cancelled()) && inputs.issue != ''
        with:
          github_token: \${{ github.token }}
          mode: ended
          conclusion: \${{ job.status }}
      # Whatever the sweep's end (finished, failed, or cut off by the job's time limit), its runs
      # directory for the next scheduled sweep.
      - uses: actions/cache/save@v4
        if: always() && (github.event_name == 'schedule' || inputs.mode == 'sweep')
        with:
          path: \${{ runner.temp }}/dynamic-workflows-runs
          key: dynamic-workflows-sweep-\${{ github.run_id }}
${uploadRuns()}`;
}

/** The workflow file's text for these choices. */
export function workflowText(c: WorkflowChoices): string {
  return header(c) + triggers(c) + (c.app ? '' : commandsJob(c)) + workflowJob(c) + shardedJobs(c);
}

/** `action/workflow-example.yml`: the app-less workflow, no schedule, a placeholder for the action. */
export const EXAMPLE_USES = 'OWNER/dynamic-workflows/action@COMMIT_SHA';
export function exampleWorkflowText(): string {
  return workflowText({ app: false, uses: EXAMPLE_USES }).replace(
    '# Dynamic Workflows: written by `dwf init`, checked by `dwf init --check`.\n',
    '# The example `dwf init` writes (`dwf init --no-app`); prefer running it, which pins the action.\n' +
      '# By hand: copy to .github/workflows/dynamic-workflows.yml and replace OWNER and COMMIT_SHA with\n' +
      '# where this repository lives and a commit of it (or vendor action/ and use ./PATH).\n',
  );
}
