import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runWorkflow } from '../../src/engine/run.js';
import { savedWorkflows } from '../../src/engine/saved-workflows.js';
import { renderPlanComment } from '../../src/github/plan-comment.js';
import { createFixtureProvider } from '../../src/models/fixture.js';
import { BUILTIN_DIR, createPlan, type Plan } from '../../src/plan/plan.js';
import type { Question } from '../../src/plan/questions.js';
import { tempDir } from '../helpers.js';
import { ECOSYSTEMS, gitInit, gitRepo } from './repos.js';
import { ITOA, PFLAG } from './shapes.js';

const root = join(import.meta.dirname, '..', '..');
const REQUESTS = [
  'audit',
  'bug-hunt',
  'sweep',
  'migrate CommonJS to ESM',
  'research where is input validated?',
];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

/** The arguments written into a plan's script, read back out of the script's text. */
function boundArgs(script: string): Record<string, unknown> {
  const bound = /\nconst args = (\{[\s\S]*?\n\});\n/.exec(script);
  if (!bound) throw new Error('the script binds no arguments');
  return JSON.parse(bound[1]!) as Record<string, unknown>;
}

const words = (text: string) => text.split(/, | and /).map((w) => w.trim());

/**
 * Holds one question's stated assumption against the bound arguments, reading the words, not
 * calling the code that wrote them: a number, a list of severities, a phrase must be the bound value.
 */
function holdAgainst(q: Question, args: Record<string, unknown>, plan: Plan): void {
  const where = `${q.question} Assumed: ${q.assumed}`;
  if (q.arg) expect(args[q.arg], where).toEqual(q.value);
  switch (q.question) {
    case 'Which files are in scope?': {
      const n = Number(/^the (\d+) (?:source )?files? /.exec(q.assumed)?.[1]);
      expect(n, where).toBe((args.files as string[]).length);
      return;
    }
    case 'Which severities should be fixed?': {
      const fix = args.fix as string[];
      const stated = /^fix (.+?); report (.+?) without changing code$/.exec(q.assumed);
      if (stated) {
        expect(new Set(words(stated[1]!)), where).toEqual(new Set(fix));
        expect(new Set(words(stated[2]!)), where).toEqual(
          new Set(SEVERITIES.filter((s) => !fix.includes(s))),
        );
      } else if (q.assumed.startsWith('fix every confirmed finding')) {
        expect(
          SEVERITIES.every((s) => fix.includes(s)),
          where,
        ).toBe(true);
      } else {
        expect(q.assumed, where).toMatch(/^fix nothing/);
        expect(fix, where).toEqual([]);
      }
      return;
    }
    case 'How many fix rounds at most?':
    case 'How many rounds at most?':
      expect(Number(/^(\d+) rounds?[;:]/.exec(q.assumed)?.[1]), where).toBe(args.rounds);
      return;
    case 'What counts as a bug?':
      expect(q.assumed, where).toBe(args.focus);
      return;
    case 'What counts as an answer?':
      // Not an argument: what the research script does. It changes no code and checks each claim.
      expect(plan.script, where).not.toContain("isolation: 'worktree'");
      expect(plan.script, where).toContain("phase: 'Cross-check'");
      expect(plan.script, where).not.toMatch(/edit_file|write_file/);
      return;
    default:
      expect(q.question, where).toMatch(/^What exactly does ".+" mean here\?$/);
      expect(q.assumed, where).toContain(`"${String(args.target)}" as written`);
      expect(Number(/for each of the (\d+) files?/.exec(q.assumed)?.[1]), where).toBe(
        (args.files as string[]).length,
      );
  }
}

describe('what a plan says it assumes is what its script is bound with', () => {
  const shapes = { 'a small Node package': ECOSYSTEMS.node, 'spf13/pflag': PFLAG, 'dtolnay/itoa': ITOA };
  for (const [shape, files] of Object.entries(shapes)) {
    test.each(REQUESTS)(`%s on ${shape}`, async (request) => {
      const repo = gitRepo(files);
      const plan = await createPlan({ repoDir: repo, request, model: 'claude-sonnet-5-5' });
      expect(plan.script).not.toBeNull();
      const args = boundArgs(plan.script!);
      expect(plan.questions.length).toBeGreaterThan(0);
      for (const q of plan.questions) holdAgainst(q, args, plan);
      // The scope the plan states is the scope the script gets: the source files, nothing else.
      expect(args.files).toEqual(plan.assessment.sourceFiles);
      // Every argument a question names is bound; the plan comment shows each question as written.
      const comment = renderPlanComment(plan, {
        planId: 'plan-1',
        baseSha: 'a'.repeat(40),
        requester: 'alice',
      });
      plan.questions.forEach((q, i) => {
        expect(comment).toContain(`${i + 1}. ${q.question} Assumed: ${q.assumed}.`);
      });
    });
  }

  test('the defaults, as they read: an audit and a bug hunt fix medium and up, the unattended sweep high and critical', async () => {
    const repo = gitRepo(PFLAG);
    const assumed = async (request: string) => {
      const plan = await createPlan({ repoDir: repo, request, model: 'claude-sonnet-5-5' });
      return [plan.questions.find((q) => q.arg === 'fix')?.assumed, boundArgs(plan.script!).fix];
    };
    expect(await assumed('audit')).toEqual([
      'fix medium, high and critical; report low without changing code',
      ['medium', 'high', 'critical'],
    ]);
    expect(await assumed('bug-hunt')).toEqual([
      'fix medium, high and critical; report low without changing code',
      ['medium', 'high', 'critical'],
    ]);
    expect(await assumed('sweep')).toEqual([
      'fix high and critical; report low and medium without changing code',
      ['high', 'critical'],
    ]);
  });

  test('given arguments change what the questions say, not only the script', async () => {
    const repo = gitRepo(PFLAG);
    const plan = await createPlan({
      repoDir: repo,
      request: 'sweep',
      model: 'claude-sonnet-5-5',
      args: { rounds: 3, fix: ['critical'], known: ['flag.go: old finding'] },
    });
    const args = boundArgs(plan.script!);
    expect(args).toMatchObject({ rounds: 3, fix: ['critical'], known: ['flag.go: old finding'] });
    for (const q of plan.questions) holdAgainst(q, args, plan);
    expect(plan.questions.map((q) => q.assumed)).toContain(
      'fix critical; report low, medium and high without changing code',
    );
    expect(plan.questions.map((q) => q.assumed)).toContain(
      '3 rounds; what still fails after that is reported as confirmed, not fixed',
    );
  });

  test('the bound value is what runs: an audit told to fix high and critical leaves the medium finding confirmed, not fixed', async () => {
    const repo = tempDir('dwf-example-');
    cpSync(join(root, 'examples', 'api'), repo, { recursive: true });
    gitInit(repo);
    const plan = await createPlan({
      repoDir: repo,
      request: 'audit',
      model: 'claude-sonnet-5-5',
      args: { fix: ['high', 'critical'] },
    });
    expect(plan.questions.find((q) => q.arg === 'fix')?.assumed).toBe(
      'fix high and critical; report low and medium without changing code',
    );
    const summary = await runWorkflow({
      source: plan.script!,
      file: 'audit.js',
      provider: createFixtureProvider(join(root, 'examples', 'workflows', 'audit.replies.json')),
      runsDir: tempDir(),
      workspace: { repoDir: repo, oracle: { command: 'node --test', timeoutSeconds: 60 } },
      workflows: savedWorkflows({ repoDir: repo, builtinDir: BUILTIN_DIR }),
      env: { PATH: process.env.PATH },
    });
    expect(summary.status).toBe('completed');
    const findings = (
      summary.result as { findings: Array<{ file: string; severity: string; status: string }> }
    ).findings;
    expect(findings.map((f) => [f.file, f.severity, f.status])).toEqual([
      ['src/files.js', 'high', 'fixed'],
      ['src/orders.js', 'high', 'fixed'],
      ['src/store.js', 'medium', 'confirmed'],
      ['src/auth.js', 'low', 'refuted'],
    ]);
  }, 60_000);
});
