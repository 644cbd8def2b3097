/**
 * The sharded path of the workflow file (`init-workflow.ts` writes the rest): the shards job, the
 * matrix of shard jobs and the merge job.
 */
import type { WorkflowChoices } from './init-workflow.js';

/** The steps that download a sharded run's earlier attempt on a resume (the shards and merge jobs). */
/** The shard and merge jobs check out the commit the shards job started from, with history, no token kept. */
const BASE_CHECKOUT = `      - uses: actions/checkout@v4
        with:
          ref: \${{ needs.shards.outputs.base_sha }}
          fetch-depth: 0
          persist-credentials: false
`;

function resumeDownloads(): string {
  return `      # /workflow resume of a sharded run: the earlier attempt's runs directory as its merge uploaded
      # it (every shard so far; absent when that merge never ran), then its shards' own artifacts.
      - uses: actions/download-artifact@v4
        if: inputs.resume_actions_run_id != ''
        continue-on-error: true
        with:
          name: dynamic-workflows-\${{ inputs.resume_actions_run_id }}
          run-id: \${{ inputs.resume_actions_run_id }}
          github-token: \${{ github.token }}
          path: \${{ runner.temp }}/dynamic-workflows-runs
      - uses: actions/download-artifact@v4
        if: inputs.resume_actions_run_id != ''
        continue-on-error: true
        with:
          pattern: dynamic-workflows-\${{ inputs.resume_actions_run_id }}-shard-*
          merge-multiple: true
          run-id: \${{ inputs.resume_actions_run_id }}
          github-token: \${{ github.token }}
          path: \${{ runner.temp }}/dynamic-workflows-runs
`;
}

/**
 * The step that uploads the job's runs directory, whatever the job's end: as
 * `dynamic-workflows-RUN` (a run's, or a merge's), or as `dynamic-workflows-RUN-shard-I` (a shard
 * job's). Every job's record, and what a resume or the merge downloads by that name.
 */
export function uploadRuns(of: 'run' | 'shard' = 'run'): string {
  const shard = of === 'shard' ? `-shard-\${{ matrix.shard }}` : '';
  return `      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: dynamic-workflows-\${{ github.run_id }}${shard}
          path: \${{ runner.temp }}/dynamic-workflows-runs
          if-no-files-found: ignore
          retention-days: 30
`;
}

/** A failed or cancelled job's notice on the issue, as the workflow job gives it (one per Actions run). */
function endedStep(c: WorkflowChoices): string {
  return `      - uses: ${c.uses}
        if: failure() || cancelled()
        with:
          github_token: \${{ github.token }}
          mode: ended
          conclusion: \${{ job.status }}
`;
}

function shardsJob(c: WorkflowChoices): string {
  return `
  # A sharded run: the approved plan splits a list across runners. The shards job re-checks the
  # approval and says which shards to run; a job per shard runs the approved script on its slice
  # and leaves its changes in its artifact; the merge job makes one branch, one report and one pull
  # request of them. Only the merge job pushes.
  shards:
    if: github.event_name == 'workflow_dispatch' && inputs.mode == 'sharded'
    runs-on: ubuntu-latest
    timeout-minutes: 15
    # Reads the thread, posts the one progress comment every shard updates (on the issue or pull
    # request), and on resume downloads the earlier attempt's artifacts to see which shards completed.
    permissions:
      contents: read
      issues: write
      pull-requests: write
      actions: read
    # The issue's group, with its plans and runs: a sharded run starts when no other job of the
    # issue runs. Its shard and merge jobs are outside it, so nothing here can cancel a shard.
    concurrency:
      group: dynamic-workflows-\${{ inputs.issue }}
      cancel-in-progress: false
    outputs:
      # A JSON array of shard indexes: all of them, or on resume those that did not complete.
      matrix: \${{ steps.shards.outputs.matrix }}
      count: \${{ steps.shards.outputs.count }}
      progress_comment_id: \${{ steps.shards.outputs.progress_comment_id }}
      # The commit it checked out: every shard and the merge start from it, wherever the branch moves.
      base_sha: \${{ steps.shards.outputs.base_sha }}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
${resumeDownloads()}      - id: shards
        uses: ${c.uses}
        with:
          github_token: \${{ github.token }}
          mode: shards
${endedStep(c)}
`;
}

function shardJob(c: WorkflowChoices): string {
  return `  shard:
    needs: shards
    # None to run (a resume whose shards all completed): straight to the merge.
    if: needs.shards.outputs.matrix != '[]'
    runs-on: ubuntu-latest
    timeout-minutes: 360
    strategy:
      # A failed shard does not stop the others: the merge says which is missing, and a resume reruns it.
      fail-fast: false
      matrix:
        shard: \${{ fromJSON(needs.shards.outputs.matrix) }}
    # Runs the approved script on its slice and updates the shared progress comment; its changes go
    # into its artifact (changes.bundle), never to a branch, so it pushes nothing.
    permissions:
      contents: read
      issues: write
      pull-requests: write
      actions: read
    # No concurrency group: the matrix's jobs would queue in it one by one, and GitHub cancels all
    # but one waiting job of a group.
    steps:
${BASE_CHECKOUT}      # On resume: this shard's journal and working copy from the earlier attempt, if it left one.
      - uses: actions/download-artifact@v4
        if: inputs.resume_actions_run_id != ''
        continue-on-error: true
        with:
          name: dynamic-workflows-\${{ inputs.resume_actions_run_id }}-shard-\${{ matrix.shard }}
          run-id: \${{ inputs.resume_actions_run_id }}
          github-token: \${{ github.token }}
          path: \${{ runner.temp }}/dynamic-workflows-runs
      # Set up whatever the repository's tests need here (setup-node, setup-python, ...).
      - uses: ${c.uses}
        with:
          github_token: \${{ github.token }}
          anthropic_api_key: \${{ secrets.ANTHROPIC_API_KEY }}
          mode: shard
          shard: \${{ matrix.shard }}
          progress_comment_id: \${{ needs.shards.outputs.progress_comment_id }}
${uploadRuns('shard')}
`;
}

function mergeJob(c: WorkflowChoices): string {
  return `  merge:
    needs: [shards, shard]
    # After every shard, however they ended (a failed or skipped shard is reported missing).
    if: always() && needs.shards.result == 'success'
    runs-on: ubuntu-latest
    timeout-minutes: 60
    # Pushes the merged branch, opens the one pull request, writes the progress comment's last
    # version, and on resume downloads the earlier attempt's artifacts.
    permissions:
      contents: write
      pull-requests: write
      issues: write
      actions: read
    # Two merges of one issue never push at once; only merges enter this group.
    concurrency:
      group: dynamic-workflows-\${{ inputs.issue }}-merge
      cancel-in-progress: false
    steps:
${BASE_CHECKOUT}${resumeDownloads()}      # This run's shards, over the earlier attempt's: the newest run of each shard wins.
      - uses: actions/download-artifact@v4
        continue-on-error: true
        with:
          pattern: dynamic-workflows-\${{ github.run_id }}-shard-*
          merge-multiple: true
          path: \${{ runner.temp }}/dynamic-workflows-runs
      # Set up whatever the repository's tests need here: they run once on the merged branch. The
      # merge asks no model, so it gets no model key.
      - uses: ${c.uses}
        with:
          github_token: \${{ github.token }}
          mode: merge
          progress_comment_id: \${{ needs.shards.outputs.progress_comment_id }}
${endedStep(c)}      # Every shard's run and the merge's: what the trace line names, and what a later resume reads.
${uploadRuns()}`;
}

/**
 * The sharded path (mode `sharded`, issue 15): the shards job, the matrix of shard jobs, the merge
 * job. Artifact names are the contract between them: a shard uploads
 * `dynamic-workflows-RUN-shard-I`, the merge downloads `dynamic-workflows-RUN-shard-*` and uploads
 * the whole runs directory as `dynamic-workflows-RUN`, which a later resume downloads first.
 */
export function shardedJobs(c: WorkflowChoices): string {
  return shardsJob(c) + shardJob(c) + mergeJob(c);
}
