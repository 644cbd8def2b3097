export const meta = {
  name: 'research',
  description:
    'Answer a question about the codebase with cross-checked evidence: agents gather claims file by file, an independent agent checks each claim against the code, and only confirmed claims reach the answer. No code changes.',
  whenToUse: 'A question whose answer is spread over many files. args: { question, files }',
  phases: [
    { title: 'Gather', detail: 'one agent per file collects claims with file:line evidence' },
    { title: 'Cross-check', detail: 'a fresh agent confirms or refutes each claim' },
    { title: 'Answer', detail: 'a synthesizer answers from confirmed claims only' },
  ],
};

const question = args?.question;
if (!question) throw new Error('research needs args.question');
const files = args?.files ?? [];
if (files.length === 0) throw new Error('research needs args.files, the files to look through');

const claimSchema = {
  type: 'object',
  properties: {
    claims: {
      type: 'array',
      items: {
        type: 'object',
        properties: { claim: { type: 'string' }, line: { type: 'integer', minimum: 1 }, quote: { type: 'string' } },
        required: ['claim', 'line', 'quote'],
      },
    },
  },
  required: ['claims'],
};
const checkSchema = {
  type: 'object',
  properties: { confirmed: { type: 'boolean' }, evidence: { type: 'string' } },
  required: ['confirmed', 'evidence'],
};

phase('Gather');
const gathered = await pipeline(files, (file) =>
  agent(
    `Question: ${question}\nRead ${file} and report what in it bears on the question: each claim with the line and a short quote. ` +
      'Report nothing if the file is unrelated. Do not change any file.',
    { label: `gather ${file}`, phase: 'Gather', schema: claimSchema },
  ),
);
const claims = gathered.flatMap((g, i) => (g?.claims ?? []).map((c) => ({ ...c, file: files[i] })));
log(`${claims.length} claims from ${files.length} files`);

phase('Cross-check');
const checked = await parallel(
  claims.map((c) => () =>
    agent(
      `An agent claims, about ${c.file}:${c.line}: "${c.claim}" (quoting "${c.quote}"). ` +
        'Read the code yourself and confirm the claim only if the code shows it. Do not change any file.',
      { label: `check ${c.file}:${c.line}`, phase: 'Cross-check', schema: checkSchema },
    ).then((check) => ({ ...c, check })),
  ),
);
const confirmed = checked.filter((c) => c?.check?.confirmed);

phase('Answer');
const answer = await agent(
  `Answer this question for a maintainer using only these confirmed claims, citing file:line for each point: ${question}\n` +
    JSON.stringify(confirmed.map(({ claim, file, line }) => ({ claim, file, line }))),
  { label: 'synthesize', phase: 'Answer' },
);
const findings = checked
  .filter(Boolean)
  .map((c) => ({ title: c.claim, file: c.file, line: c.line, status: c.check?.confirmed ? 'confirmed' : c.check ? 'refuted' : 'unverified', evidence: c.check?.evidence ?? '' }));
return { question, answer, findings };
