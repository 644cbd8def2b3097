export const meta = {
  name: 'migrate',
  description:
    'Migrate the files in scope to a target, one agent per file in its own worktree; an independent agent checks each file, and the test suite proves behaviour is kept.',
  whenToUse: 'A mechanical change across many files, e.g. "CommonJS to ESM". args: { target, files, rounds? }',
  phases: [
    { title: 'Baseline', detail: 'the tests before anything changes' },
    { title: 'Migrate', detail: 'one agent per file' },
    { title: 'Verify', detail: 'a fresh agent checks each file' },
    { title: 'Repair', detail: 'files that failed the check get another round' },
    { title: 'Report' },
  ],
};

const target = args?.target;
if (!target) throw new Error('migrate needs args.target, e.g. "CommonJS to ESM"');
const files = args?.files ?? [];
if (files.length === 0) throw new Error('migrate needs args.files, the files to migrate');
const maxRounds = args?.rounds ?? 2;

const doneSchema = {
  type: 'object',
  properties: { changed: { type: 'boolean' }, notes: { type: 'string' } },
  required: ['changed', 'notes'],
};
const checkSchema = {
  type: 'object',
  properties: {
    complete: { type: 'boolean' },
    behaviourKept: { type: 'boolean' },
    problems: { type: 'array', items: { type: 'string' } },
  },
  required: ['complete', 'behaviourKept', 'problems'],
};

phase('Baseline');
const before = await oracle();
log(`tests before: ${before.summary}`);

let pending = files.map((file) => ({ file, problems: [] }));
const migrated = [];
let after = before;
for (let round = 1; round <= maxRounds && pending.length > 0; round++) {
  phase(round === 1 ? 'Migrate' : 'Repair');
  await parallel(
    pending.map((item) => () =>
      agent(
        `Migrate ${item.file} to ${target}. Change only what the migration needs and keep behaviour the same; ` +
          'use read_file and edit_file, and run_tests when you are done.' +
          (item.problems.length > 0 ? ` A reviewer found these problems last round: ${item.problems.join('; ')}` : ''),
        { label: `migrate ${item.file}`, phase: round === 1 ? 'Migrate' : 'Repair', isolation: 'worktree', schema: doneSchema },
      ),
    ),
  );
  after = await oracle();
  log(`round ${round}: tests ${after.summary}`);

  phase('Verify');
  const checks = await parallel(
    pending.map((item) => () =>
      agent(
        `You are an independent reviewer. Check, reading the code as it is now, that ${item.file} is fully migrated to ${target} ` +
          `and that its behaviour is unchanged. The test suite ${after.passed ? 'passes' : `fails (${after.summary})`}. ` +
          'List every problem you find; say complete only if there is none.',
        { label: `verify ${item.file}`, phase: 'Verify', schema: checkSchema },
      ).then((check) => ({ ...item, check })),
    ),
  );
  for (const c of checks.filter((c) => c?.check?.complete && c.check.behaviourKept)) migrated.push(c);
  pending = checks
    .filter((c) => c && !(c.check?.complete && c.check.behaviourKept))
    .map((c) => ({ file: c.file, problems: c.check?.problems ?? ['the reviewer did not answer'] }));
}

phase('Report');
const findings = [
  ...migrated.map((m) => ({ title: `migrated to ${target}`, file: m.file, status: 'fixed', evidence: 'the reviewer found it complete and behaviour-preserving' })),
  ...pending.map((p) => ({ title: `not fully migrated to ${target}`, file: p.file, status: 'unverified', evidence: p.problems.join('; ') })),
];
const summary = await agent(
  `Summarize this migration to ${target} for maintainers. Tests before: ${before.summary}; after: ${after.summary}. ` +
    `Results: ${JSON.stringify(findings)}`,
  { label: 'synthesize', phase: 'Report' },
);
return { findings, tests: { before: before.summary, after: after.summary }, summary };
