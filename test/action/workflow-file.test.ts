import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateAction, validateWorkflow } from '@action-validator/core';
import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { inputProblems } from '../../src/cli/init-check.js';
import { EXAMPLE_USES, exampleWorkflowText, SWEEP_CRON, workflowText } from '../../src/cli/init-workflow.js';
import { parseCommand } from '../../src/github/commands.js';
import { DISPATCH_INPUTS } from '../../src/github/dispatch.js';

const root = join(import.meta.dirname, '..', '..');
const WORKFLOW = readFileSync(join(root, 'action', 'workflow-example.yml'), 'utf8');
const ACTION = readFileSync(join(root, 'action', 'action.yml'), 'utf8');

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  'continue-on-error'?: boolean;
  with?: Record<string, string | number | boolean>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  'timeout-minutes'?: number;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  strategy?: { 'fail-fast'?: boolean; matrix?: Record<string, unknown> };
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, { types?: string[]; inputs?: Record<string, { description?: string }> } | unknown[]>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}
const workflow = yaml.load(WORKFLOW) as Workflow;

describe("GitHub's schema", () => {
  test('the example workflow validates with no error', () => {
    expect(validateWorkflow(WORKFLOW).errors).toEqual([]);
  });

  test('the action validates, but for node24, which the bundled schema predates', () => {
    // @action-validator/core 0.6.0 ships a schema whose runs.using enum ends before node24 (which
    // GitHub's runners support): its one complaint is that enum. The same file with the using of
    // an older runtime validates cleanly, so nothing else is wrong with it.
    const action = yaml.load(ACTION) as { runs: { using: string; main: string } };
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.mjs' });
    const { errors } = validateAction(ACTION);
    expect(errors).toHaveLength(1);
    const [error] = errors as Array<{ code: string; path: string; states: Array<{ errors: unknown[] }> }>;
    expect(error).toMatchObject({ code: 'one_of', path: '/runs' });
    // Of the three kinds of action (javascript, composite, docker), the javascript one fails on the enum alone.
    const javascript = error!.states.filter((s) =>
      s.errors.every((e) => (e as { path: string }).path === '/runs/using'),
    );
    expect(javascript).toEqual([
      { errors: [expect.objectContaining({ code: 'enum', path: '/runs/using' })] },
    ]);
    expect(validateAction(ACTION.replace('using: node24', 'using: node20')).errors).toEqual([]);
  });
});

describe('triggers and permissions', () => {
  test('dispatch, new comments and labels start it; the weekly sweep only when asked for', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['issue_comment', 'issues', 'workflow_dispatch']);
    expect(workflow.on.issue_comment).toEqual({ types: ['created'] });
    expect(workflow.on.issues).toEqual({ types: ['labeled'] });
    // Opt-in: the schedule is commented out, and `dwf init --sweep` (with its own budget) writes it.
    expect(WORKFLOW).toContain('  # schedule:\n  #   - cron: "17 4 * * 1"\n');
    const swept = yaml.load(
      workflowText({ app: false, uses: EXAMPLE_USES, sweepCron: SWEEP_CRON }),
    ) as Workflow;
    expect(swept.on.schedule).toEqual([{ cron: '17 4 * * 1' }]);
    expect(validateWorkflow(yaml.dump(swept)).errors).toEqual([]);
  });

  test('with the app, only dispatches start it: no commands job that would answer comments twice', () => {
    const text = workflowText({ app: true, uses: EXAMPLE_USES });
    const app = yaml.load(text) as Workflow;
    expect(Object.keys(app.on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(app.jobs)).toEqual(['workflow', 'shards', 'shard', 'merge']);
    for (const name of Object.keys(app.jobs)) expect(app.jobs[name]).toEqual(workflow.jobs[name]);
    expect(validateWorkflow(text).errors).toEqual([]);
  });

  test('the example is what dwf init --no-app writes (npm run docs regenerates it)', () => {
    expect(WORKFLOW).toBe(exampleWorkflowText());
  });

  test('nothing at the top level; each job the least it needs; only the commands job may dispatch', () => {
    expect(workflow.permissions).toEqual({});
    expect(Object.keys(workflow.jobs)).toEqual(['commands', 'workflow', 'shards', 'shard', 'merge']);
    expect(workflow.jobs.commands!.permissions).toEqual({
      contents: 'read',
      issues: 'write',
      'pull-requests': 'write',
      actions: 'write',
    });
    expect(workflow.jobs.workflow!.permissions).toEqual({
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      actions: 'read',
    });
  });

  test('no shell step: no comment, title or input can reach a shell through an expression', () => {
    for (const [name, job] of Object.entries(workflow.jobs))
      for (const step of job.steps) expect(step.run, `a run: step in ${name}`).toBeUndefined();
  });

  // What each GitHub call the action makes needs of the job token (GitHub's REST reference; the
  // collaborator permission needs only metadata, which every job token has).
  const NEEDS: Record<string, [string, 'read' | 'write'] | 'metadata'> = {
    'rest.issues.createComment': ['issues', 'write'],
    'rest.issues.updateComment': ['issues', 'write'],
    'rest.issues.getComment': ['issues', 'read'],
    'rest.issues.listComments': ['issues', 'read'],
    'rest.issues.get': ['issues', 'read'],
    'rest.issues.listEvents': ['issues', 'read'],
    'rest.reactions.createForIssueComment': ['issues', 'write'],
    'rest.repos.getCollaboratorPermissionLevel': 'metadata',
    'rest.pulls.create': ['pull-requests', 'write'],
    'rest.pulls.update': ['pull-requests', 'write'],
    'rest.pulls.list': ['pull-requests', 'read'],
    'rest.actions.listWorkflowRuns': ['actions', 'read'],
    'rest.actions.cancelWorkflowRun': ['actions', 'write'],
    'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches': ['actions', 'write'],
  };
  const LEVEL = { read: 1, write: 2 } as const;

  /** The REST calls each method of the Octokit port makes (each method's body, in src/github/port.ts). */
  function callsByMethod(): Map<string, string[]> {
    const source = readFileSync(join(root, 'src', 'github', 'port.ts'), 'utf8');
    const body = source.slice(source.indexOf('export function octokitPort('));
    const methods = [...body.matchAll(/^ {4}async (\w+)\(/gm)];
    expect(methods.length).toBeGreaterThanOrEqual(10);
    return new Map(
      methods.map((m, i) => {
        const text = body.slice(m.index!, methods[i + 1]?.index ?? body.length);
        const rest = [...text.matchAll(/\boctokit\.(rest\.\w+\.\w+)/g)].map((c) => c[1]!);
        const raw = [...text.matchAll(/\boctokit\.request\(\s*'([A-Z]+ [^']+)'/g)].map((c) => c[1]!);
        return [m[1]!, [...new Set([...rest, ...raw])]];
      }),
    );
  }

  /** The port's methods a file calls through the port's variable (`github.comment(`, `o.github.roleOf(`...). */
  function portCallsIn(file: string, port = 'github'): string[] {
    const source = readFileSync(join(root, file), 'utf8');
    return [...new Set([...source.matchAll(new RegExp(`\\b${port}\\.(\\w+)\\(`, 'g'))].map((m) => m[1]!))];
  }

  function expectGranted(job: Job, calls: string[]): void {
    for (const call of calls) {
      const need = NEEDS[call];
      expect(need, `${call} is not in the table above: what does it need?`).toBeDefined();
      if (need === 'metadata') continue;
      const granted = job.permissions?.[need![0]] as 'read' | 'write' | undefined;
      expect(granted ? LEVEL[granted] : 0, `${call} needs ${need![0]}: ${need![1]}`).toBeGreaterThanOrEqual(
        LEVEL[need![1]],
      );
    }
  }

  test('no other file calls Octokit: every GitHub call goes through the port', () => {
    for (const dir of ['action', 'app', 'github'])
      for (const f of readdirSync(join(root, 'src', dir)).filter((f) => f.endsWith('.ts'))) {
        if (dir === 'github' && f === 'port.ts') continue;
        // The one exception: the app asks, with its own credentials, which bot it is (no repository's call).
        const source = readFileSync(join(root, 'src', dir, f), 'utf8').replace(
          'octokit.rest.apps.getAuthenticated()',
          '',
        );
        expect(source, `src/${dir}/${f}`).not.toMatch(/\boctokit\.(rest|request|paginate)\b/);
      }
  });

  test("the commands job may make every call of the app's handlers over the job token", () => {
    // Without the app, main.ts runs onComment/onLabel over octokitPort (src/github/port.ts).
    const methods = callsByMethod();
    const calls = portCallsIn('src/github/handlers.ts', 'gh').flatMap((m) => methods.get(m) ?? []);
    expect(calls).toContain('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches');
    expectGranted(workflow.jobs.commands!, calls);
  });

  test('the workflow job may make every call of plan, run, resume, sweep and ended, and download an artifact', () => {
    const methods = callsByMethod();
    const used = readdirSync(join(root, 'src', 'action'))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => portCallsIn(join('src', 'action', f)));
    for (const method of used) expect(methods.has(method), `the port has no ${method}`).toBe(true);
    // Ended mode (onWorkflowRun, in the handlers) reads the thread and comments.
    const action = [...used, 'listComments', 'comment'].flatMap((m) => methods.get(m) ?? []);
    expect(action).toEqual(expect.arrayContaining(['rest.pulls.create', 'rest.issues.createComment']));
    expectGranted(workflow.jobs.workflow!, action);
    // It pushes the run's branch (git push with the job token) and downloads another run's artifact.
    expect(workflow.jobs.workflow!.permissions!.contents).toBe('write');
    const download = workflow.jobs.workflow!.steps.find((s) =>
      s.uses?.startsWith('actions/download-artifact@'),
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
    expect(download?.with?.['run-id']).toBe('${{ inputs.resume_actions_run_id }}');
    expect(workflow.jobs.workflow!.permissions!.actions).toBe('read');
  });

  test('each job of a sharded run may make the calls of its mode; only the merge may push', () => {
    const methods = callsByMethod();
    const callsOf = (files: string[], extra: string[] = []) =>
      [...files.flatMap((f) => portCallsIn(join('src', 'action', f))), ...extra].flatMap(
        (m) => methods.get(m) ?? [],
      );
    // Each mode re-checks the approval (run-mode.ts's checkApproval, through shards-mode.ts); the
    // shards and merge jobs end with the notice of a failed job (ended: the thread and a comment).
    const ended = ['listComments', 'comment'];
    const jobs = workflow.jobs;
    expectGranted(jobs.shards!, callsOf(['shards-mode.ts', 'run-mode.ts'], ended));
    const shard = callsOf(['shard-mode.ts', 'shard-progress.ts', 'shards-mode.ts', 'run-mode.ts']);
    expect(shard).toEqual(expect.arrayContaining(['rest.issues.getComment', 'rest.issues.updateComment']));
    expectGranted(jobs.shard!, shard);
    const merge = callsOf(['merge-mode.ts', 'pull-request.ts', 'shards-mode.ts', 'run-mode.ts'], ended);
    expect(merge).toContain('rest.pulls.create');
    expectGranted(jobs.merge!, merge);
    // The shard jobs push nothing (their changes travel as changes.bundle in their artifacts).
    const readOnly = { contents: 'read', issues: 'write', 'pull-requests': 'write', actions: 'read' };
    expect(jobs.shards!.permissions).toEqual(readOnly);
    expect(jobs.shard!.permissions).toEqual(readOnly);
    expect(jobs.merge!.permissions).toEqual({
      contents: 'write',
      'pull-requests': 'write',
      issues: 'write',
      actions: 'read',
    });
  });
});

/**
 * The part of GitHub's expression language the jobs' `if:` use: literals ('' is the only escape:
 * there are no backslash escapes), context paths, ==, !=, !, &&, ||, parentheses, and the
 * case-insensitive contains / startsWith / endsWith. Strings compare ignoring case, as GitHub's do.
 */
function evaluate(expression: string, context: Record<string, unknown>): unknown {
  const tokens = [
    ...expression.matchAll(/\s*('(?:[^']|'')*'|&&|\|\||==|!=|!|\(|\)|,|[A-Za-z_][\w.-]*|\d+)/gy),
  ].map((m) => m[1]!);
  expect(tokens.join('').replace(/\s/g, '')).toBe(expression.replace(/\s/g, ''));
  let at = 0;
  const peek = () => tokens[at];
  const take = (want?: string) => {
    const token = tokens[at++];
    if (want !== undefined && token !== want) throw new Error(`expected ${want}, got ${token}`);
    return token!;
  };
  const truthy = (v: unknown) => !(v === null || v === undefined || v === false || v === 0 || v === '');
  const same = (a: unknown, b: unknown) =>
    typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
  const lower = (v: unknown) => String(v ?? '').toLowerCase();
  const functions: Record<string, (...args: unknown[]) => unknown> = {
    contains: (hay, needle) => lower(hay).includes(lower(needle)),
    startsWith: (s, prefix) => lower(s).startsWith(lower(prefix)),
    endsWith: (s, suffix) => lower(s).endsWith(lower(suffix)),
    always: () => true,
  };
  const primary = (): unknown => {
    const token = take();
    if (token === '(') {
      const value = or();
      take(')');
      return value;
    }
    if (token === '!') return !truthy(primary());
    if (token.startsWith("'")) return token.slice(1, -1).replace(/''/g, "'");
    if (/^\d+$/.test(token)) return Number(token);
    if (token === 'true' || token === 'false') return token === 'true';
    if (token === 'null') return null;
    if (peek() === '(') {
      take('(');
      const args: unknown[] = [];
      while (peek() !== ')') {
        args.push(or());
        if (peek() === ',') take(',');
      }
      take(')');
      const fn = functions[token];
      if (!fn) throw new Error(`unknown function ${token}`);
      return fn(...args);
    }
    return token
      .split('.')
      .reduce<unknown>(
        (v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : null),
        context,
      );
  };
  const comparison = (): unknown => {
    const left = primary();
    if (peek() === '==' || peek() === '!=') {
      const op = take();
      const right = primary();
      return op === '==' ? same(left, right) : !same(left, right);
    }
    return left;
  };
  const and = (): unknown => {
    let value = comparison();
    while (peek() === '&&') {
      take();
      const right = comparison();
      value = truthy(value) ? right : value;
    }
    return value;
  };
  const or = (): unknown => {
    let value = and();
    while (peek() === '||') {
      take();
      const right = and();
      value = truthy(value) ? value : right;
    }
    return value;
  };
  const value = or();
  expect(at, `unparsed: ${tokens.slice(at).join(' ')}`).toBe(tokens.length);
  return truthy(value);
}

describe("the commands job's if:", () => {
  const condition = workflow.jobs.commands!.if!;
  const comment = (body: string, type = 'User') => ({
    github: { event_name: 'issue_comment', event: { comment: { body, user: { type } } } },
  });

  test('the evaluator reads GitHub expressions literally: a backslash-n is not a newline', () => {
    // The old condition: it never matched a command on a later line.
    expect(
      evaluate("contains(github.event.comment.body, '\\n/workflow')", comment('thanks\n/workflow audit')),
    ).toBe(false);
    expect(evaluate("contains(github.event.comment.body, '\\n/workflow')", comment('a \\n/workflow b'))).toBe(
      true,
    );
  });

  const BODIES = [
    '/workflow audit',
    '/approve',
    'Looks right to me.\n/approve',
    'Thanks!\r\n\r\n  /workflow research where is access checked?',
    '/WORKFLOW bug-hunt',
    'see the docs of /workflow for the commands',
    'I would /approve this if the tests passed',
    '```\n/approve\n```',
    '> /workflow audit',
    'nothing for the bot',
    '',
  ];

  test.each(BODIES)('a comment the handler would act on starts the job: %j', (body) => {
    const starts = evaluate(condition, comment(body));
    if (!('none' in parseCommand(body))) expect(starts).toBe(true);
    // A comment without a command word anywhere never starts a job.
    if (!/\/(workflow|approve)/i.test(body)) expect(starts).toBe(false);
  });

  test('a command on a later line, after blank lines or indented, starts the job', () => {
    expect(evaluate(condition, comment('Looks right to me.\n/approve'))).toBe(true);
    expect(evaluate(condition, comment('Thanks!\r\n\r\n  /workflow resume'))).toBe(true);
  });

  test("bots' comments, other events and labels of other kinds do not; workflow: labels do", () => {
    expect(evaluate(condition, comment('/approve', 'Bot'))).toBe(false);
    expect(evaluate(condition, { github: { event_name: 'workflow_dispatch', event: {} } })).toBe(false);
    expect(evaluate(condition, { github: { event_name: 'schedule', event: {} } })).toBe(false);
    const label = (name: string) => ({ github: { event_name: 'issues', event: { label: { name } } } });
    expect(evaluate(condition, label('workflow:audit'))).toBe(true);
    expect(evaluate(condition, label('bug'))).toBe(false);
  });

  test('the workflow job runs for dispatches and the schedule only', () => {
    const run = workflow.jobs.workflow!.if!;
    const event = (event_name: string) => ({
      github: { event_name, event: { comment: { body: '/approve' } } },
    });
    expect(evaluate(run, event('workflow_dispatch'))).toBe(true);
    expect(evaluate(run, event('schedule'))).toBe(true);
    expect(evaluate(run, event('issue_comment'))).toBe(false);
    expect(evaluate(run, event('issues'))).toBe(false);
  });
});

describe('a sweep that outlives its job', () => {
  test('the next scheduled sweep restores the runs directory the last one saved, however it ended', () => {
    const job = workflow.jobs.workflow!;
    const [restore] = stepsUsing(job, 'actions/cache/restore');
    const [save] = stepsUsing(job, 'actions/cache/save');
    expect(restore && save).toBeTruthy();
    const at = (step: Step) => job.steps.indexOf(step);
    // Restored before the action runs, saved after it, with the same path.
    expect(at(restore!)).toBeLessThan(at(ours(job)[0]!));
    expect(at(save!)).toBeGreaterThan(at(ours(job)[0]!));
    expect(save!.with!.path).toBe(restore!.with!.path);
    // The runs directory: what the job uploads as its artifact.
    expect(save!.with!.path).toBe(stepsUsing(job, 'actions/upload-artifact')[0]!.with!.path);
    // Each sweep saves under its own key; the next one restores the newest by the shared prefix.
    expect(save!.with!.key).toBe(restore!.with!.key);
    expect(String(save!.with!.key).startsWith(String(restore!.with!['restore-keys']))).toBe(true);
    const when = (step: Step, event_name: string, mode: string, status = 'success') =>
      evaluate(step.if!, { github: { event_name }, inputs: { mode }, status });
    for (const [event, mode] of [
      ['schedule', ''],
      ['workflow_dispatch', 'sweep'],
    ] as const) {
      expect(when(restore!, event, mode)).toBe(true);
      for (const status of ['success', 'failure', 'cancelled'])
        expect(when(save!, event, mode, status)).toBe(true);
    }
    for (const mode of ['plan', 'run', 'resume']) {
      expect(when(restore!, 'workflow_dispatch', mode)).toBe(false);
      expect(when(save!, 'workflow_dispatch', mode)).toBe(false);
    }
  });
});

/** Every step of a job that uses an action of this name (`actions/download-artifact`, ...). */
const stepsUsing = (job: Job, action: string) => job.steps.filter((s) => s.uses?.startsWith(`${action}@`));
const ours = (job: Job) => job.steps.filter((s) => s.uses === EXAMPLE_USES);

/** A download pattern as a regular expression (`*` any run of characters but a slash). */
const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);

/* biome-ignore-start lint/suspicious/noTemplateCurlyInString: GitHub expressions, not templates */
describe('the sharded path', () => {
  const jobs = workflow.jobs;
  const [shards, shard, merge] = [jobs.shards!, jobs.shard!, jobs.merge!];
  const RUNS = '${{ runner.temp }}/dynamic-workflows-runs';

  test("it validates against GitHub's workflow schema, and a malformed copy of it does not", () => {
    expect(validateWorkflow(WORKFLOW).errors).toEqual([]);
    // The validator really reads these jobs: each broken copy fails, naming the job.
    const broken: Array<[string, (w: Workflow) => void]> = [
      ['shard', (w) => delete w.jobs.shard!.strategy!.matrix],
      ['shard', (w) => Object.assign(w.jobs.shard!.permissions!, { contents: 'push' })],
      ['shard', (w) => Object.assign(w.jobs.shard!, { 'timeout-minutes': 'six hours' })],
      ['merge', (w) => Object.assign(w.jobs.merge!, { needs: 5 })],
      ['merge', (w) => Object.assign(w.jobs.merge!, { concurrency: { cancel: true } })],
      ['shards', (w) => Object.assign(w.jobs.shards!, { outputs: ['matrix'] })],
      ['merge', (w) => Object.assign(w.jobs.merge!.steps[0]!, { run: 'git status' })],
    ];
    for (const [job, breakIt] of broken) {
      const copy = yaml.load(WORKFLOW) as Workflow;
      breakIt(copy);
      const { errors } = validateWorkflow(yaml.dump(copy)) as { errors: Array<{ path: string }> };
      expect(errors.map((e) => e.path)).toEqual([`/jobs/${job}`]);
    }
  });

  test('a sharded dispatch starts the shards job and skips the workflow job; every other dispatch the reverse', () => {
    const dispatch = (mode: string) => ({ github: { event_name: 'workflow_dispatch' }, inputs: { mode } });
    for (const mode of ['plan', 'run', 'resume', 'sweep']) {
      expect(evaluate(jobs.workflow!.if!, dispatch(mode)), mode).toBe(true);
      expect(evaluate(shards.if!, dispatch(mode)), mode).toBe(false);
    }
    expect(evaluate(jobs.workflow!.if!, dispatch('sharded'))).toBe(false);
    expect(evaluate(shards.if!, dispatch('sharded'))).toBe(true);
    expect(evaluate(shards.if!, { github: { event_name: 'schedule' }, inputs: {} })).toBe(false);
  });

  test('the matrix is the shards job output, one job per shard that cannot fail or cancel the others', () => {
    expect(shard.needs).toBe('shards');
    expect(shard.strategy).toEqual({
      'fail-fast': false,
      matrix: { shard: '${{ fromJSON(needs.shards.outputs.matrix) }}' },
    });
    // An empty matrix is an error on GitHub: a resume with nothing to run goes straight to the merge.
    const needs = (matrix: string) => ({ needs: { shards: { outputs: { matrix } } } });
    expect(evaluate(shard.if!, needs('[0,2]'))).toBe(true);
    expect(evaluate(shard.if!, needs('[]'))).toBe(false);
    // A group shared by the matrix's jobs would queue them and cancel all but one waiting.
    expect(shard.concurrency).toBeUndefined();
    // The shards job's outputs are its action step's.
    const step = shards.steps.find((s) => s.id === 'shards')!;
    expect(step.with?.mode).toBe('shards');
    expect(shards.outputs).toEqual({
      matrix: '${{ steps.shards.outputs.matrix }}',
      count: '${{ steps.shards.outputs.count }}',
      progress_comment_id: '${{ steps.shards.outputs.progress_comment_id }}',
      base_sha: '${{ steps.shards.outputs.base_sha }}',
    });
    // Every shard and the merge start from the commit the shards job checked out.
    for (const job of [shard, merge])
      expect(stepsUsing(job, 'actions/checkout')[0]?.with?.ref).toBe('${{ needs.shards.outputs.base_sha }}');
    expect(ours(shard).map((s) => s.with)).toEqual([
      {
        github_token: '${{ github.token }}',
        anthropic_api_key: '${{ secrets.ANTHROPIC_API_KEY }}',
        mode: 'shard',
        shard: '${{ matrix.shard }}',
        progress_comment_id: '${{ needs.shards.outputs.progress_comment_id }}',
      },
    ]);
  });

  test('the merge runs after every shard however they ended, once the shards job succeeded', () => {
    expect(merge.needs).toEqual(['shards', 'shard']);
    expect(merge.if).toBe("always() && needs.shards.result == 'success'");
    const shardsEnded = (shardsResult: string) => ({ needs: { shards: { result: shardsResult } } });
    expect(evaluate(merge.if!, shardsEnded('success'))).toBe(true);
    expect(evaluate(merge.if!, shardsEnded('failure'))).toBe(false);
    expect(evaluate(merge.if!, shardsEnded('skipped'))).toBe(false);
    expect(ours(merge).find((s) => s.with?.mode === 'merge')?.with?.progress_comment_id).toBe(
      '${{ needs.shards.outputs.progress_comment_id }}',
    );
    // A failed or cancelled merge (or shards job) tells the issue, as the workflow job does.
    for (const job of [shards, merge])
      expect(ours(job).find((s) => s.with?.mode === 'ended')).toEqual({
        uses: EXAMPLE_USES,
        if: 'failure() || cancelled()',
        with: { github_token: '${{ github.token }}', mode: 'ended', conclusion: '${{ job.status }}' },
      });
  });

  test("artifacts: what a shard uploads is what the merge downloads, this run's and a resumed run's", () => {
    const [upload] = stepsUsing(shard, 'actions/upload-artifact');
    expect(upload).toMatchObject({
      if: 'always()',
      with: { name: 'dynamic-workflows-${{ github.run_id }}-shard-${{ matrix.shard }}', path: RUNS },
    });
    const uploaded = (run: string, index: number) =>
      String(upload!.with!.name)
        .replace('${{ github.run_id }}', run)
        .replace('${{ matrix.shard }}', String(index));
    const downloads = stepsUsing(merge, 'actions/download-artifact');
    for (const d of downloads) expect(d.with?.path).toBe(RUNS);
    // This run's: every shard's artifact, into one folder.
    const current = downloads.find((d) => d.with?.run_id === undefined && !d.with?.['run-id'])!;
    expect(current.with).toMatchObject({ 'merge-multiple': true });
    const pattern = (d: Step, run: string) =>
      globToRegExp(
        String(d.with!.pattern).replace(/\$\{\{ (github\.run_id|inputs\.resume_actions_run_id) \}\}/, run),
      );
    for (const i of [0, 1, 2, 11]) expect(uploaded('7001', i)).toMatch(pattern(current, '7001'));
    expect('dynamic-workflows-7001').not.toMatch(pattern(current, '7001'));
    expect(uploaded('7002', 0)).not.toMatch(pattern(current, '7001'));
    // A resume's: the earlier run's shard artifacts (after its merge's whole runs directory, which
    // the merge uploads under the name the trace line gives), downloaded in the shards job too.
    const [mergeUpload] = stepsUsing(merge, 'actions/upload-artifact');
    expect(mergeUpload?.with).toMatchObject({ name: 'dynamic-workflows-${{ github.run_id }}', path: RUNS });
    for (const job of [shards, merge]) {
      const resumed = stepsUsing(job, 'actions/download-artifact').filter(
        (d) => d.with?.['run-id'] === '${{ inputs.resume_actions_run_id }}',
      );
      expect(resumed.map((d) => d.if)).toEqual([
        "inputs.resume_actions_run_id != ''",
        "inputs.resume_actions_run_id != ''",
      ]);
      expect(resumed[0]!.with!.name).toBe('dynamic-workflows-${{ inputs.resume_actions_run_id }}');
      for (const i of [0, 2]) expect(uploaded('6000', i)).toMatch(pattern(resumed[1]!, '6000'));
    }
    // The merge reads the resumed run's first, then this run's over them: the newest of each shard wins.
    expect(downloads.indexOf(current)).toBe(downloads.length - 1);
    // A shard of a resume first gets its own earlier artifact, by its exact name.
    const [own] = stepsUsing(shard, 'actions/download-artifact');
    expect(own?.with).toMatchObject({
      name: 'dynamic-workflows-${{ inputs.resume_actions_run_id }}-shard-${{ matrix.shard }}',
      'run-id': '${{ inputs.resume_actions_run_id }}',
      path: RUNS,
    });
    expect(stepsUsing(shard, 'actions/download-artifact').indexOf(own!)).toBe(0);
  });

  test('the action declares every input the steps give it, and the shards job outputs', () => {
    const action = yaml.load(ACTION) as {
      inputs: Record<string, { description: string }>;
      outputs: Record<string, { description: string }>;
    };
    for (const [name, job] of Object.entries(jobs))
      for (const step of ours(job))
        for (const input of Object.keys(step.with ?? {}))
          expect(action.inputs[input], `${name} gives the action ${input}`).toBeDefined();
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining(['mode', 'shard', 'progress_comment_id']),
    );
    expect(Object.keys(action.outputs).sort()).toEqual(Object.keys(shards.outputs!).sort());
    for (const mode of ['shards', 'shard', 'merge']) expect(action.inputs.mode!.description).toContain(mode);
    // And every input the action reads (GitHub passes input NAME as INPUT_NAME) is one it declares.
    const read = new Set<string>();
    for (const f of readdirSync(join(root, 'src', 'action')).filter((f) => f.endsWith('.ts')))
      for (const m of readFileSync(join(root, 'src', 'action', f), 'utf8').matchAll(/\bINPUT_([A-Z0-9_]+)/g))
        read.add(m[1]!.toLowerCase());
    expect([...read]).toEqual(expect.arrayContaining(['shard', 'progress_comment_id']));
    expect([...read].filter((name) => !action.inputs[name])).toEqual([]);
  });

  test('each job has a time limit; only the shards job shares the issue group, and the merges have their own', () => {
    for (const name of ['shards', 'shard', 'merge'])
      expect(jobs[name]!['timeout-minutes'], name).toBeGreaterThan(0);
    // For a dispatch (which always names its issue), the workflow job's group and the shards job's are one.
    const groupOf = (job: Job) =>
      job.concurrency!.group.replace(/\$\{\{ inputs\.issue( \|\| 'sweep')? \}\}/, '4');
    expect(groupOf(shards)).toBe('dynamic-workflows-4');
    expect(groupOf(shards)).toBe(groupOf(jobs.workflow!));
    expect(shards.concurrency!['cancel-in-progress']).toBe(false);
    expect(merge.concurrency).toEqual({
      group: 'dynamic-workflows-${{ inputs.issue }}-merge',
      'cancel-in-progress': false,
    });
    // Every job a sharded run's jobs need exists.
    for (const job of [shard, merge])
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(jobs)).toContain(need);
  });
});
/* biome-ignore-end lint/suspicious/noTemplateCurlyInString: GitHub expressions, not templates */

describe('dispatch inputs', () => {
  const declared = Object.keys(
    (workflow.on.workflow_dispatch as { inputs: Record<string, { description?: string }> }).inputs,
  );

  test('the workflow declares exactly the inputs of the dispatch schema, each with a description', () => {
    expect([...declared].sort()).toEqual(DISPATCH_INPUTS);
    // The same check dwf init --check makes on a repository's workflow.
    expect(inputProblems('workflow-example.yml', workflow)).toEqual([]);
    expect(DISPATCH_INPUTS).toEqual([
      'approver',
      'comment_id',
      'feedback',
      'issue',
      'mode',
      'plan_comment_id',
      'request',
      'requester',
      'resume_actions_run_id',
      'revise_plan_comment_id',
      'script_sha256',
    ]);
    const inputs = (workflow.on.workflow_dispatch as { inputs: Record<string, { description?: string }> })
      .inputs;
    for (const [name, input] of Object.entries(inputs)) expect(input.description, name).toBeTruthy();
  });

  test('the handlers build every dispatch through the schema', () => {
    const handlers = readFileSync(join(root, 'src', 'github', 'handlers.ts'), 'utf8');
    const dispatches = [...handlers.matchAll(/\bgh\.dispatch\(\s*config\.workflowFile,\s*(\w+)\(/g)];
    expect(dispatches.length).toBeGreaterThanOrEqual(4);
    expect(dispatches.map((m) => m[1])).toEqual(dispatches.map(() => 'dispatchInputs'));
    expect([...handlers.matchAll(/\bgh\.dispatch\(/g)]).toHaveLength(dispatches.length);
  });

  test('every declared input is read by the action or the workflow, but one shown only on the run page', () => {
    const read = new Set<string>();
    for (const f of readdirSync(join(root, 'src', 'action')).filter((f) => f.endsWith('.ts')))
      for (const m of readFileSync(join(root, 'src', 'action', f), 'utf8').matchAll(/\binputs\.(\w+)/g))
        read.add(m[1]!);
    for (const m of WORKFLOW.matchAll(/\binputs\.(\w+)/g)) read.add(m[1]!);
    // approver names the approver on the run's page; the job never trusts it (the runner finds the
    // approval in the thread itself). comment_id is read: the plan job checks who wrote it.
    expect(declared.filter((d) => !read.has(d)).sort()).toEqual(['approver']);
  });
});
