export const meta = {
  name: 'bug-hunt',
  description:
    'Hunt for bugs file by file: each finding is checked by an independent agent, what holds up is fixed in its own worktree, and the test suite judges the fixes.',
  whenToUse: 'Wrong behaviour anywhere in the codebase, with tests to prove fixes. args: { files, focus?, rounds?, fix? }',
  // args.files may be split across runners (a sharded plan binds shard(...)): each file is worked on alone.
  shard: 'files',
  phases: [
    { title: 'Baseline' },
    { title: 'Find', detail: 'one agent per file reports bugs with evidence' },
    { title: 'Verify', detail: 'a fresh agent tries to refute each bug' },
    { title: 'Fix', detail: 'one agent per confirmed bug, in its own worktree' },
    { title: 'Re-verify', detail: 'the tests and a fresh agent judge each fix' },
    { title: 'Report' },
  ],
};

// The audit loop, aimed at behaviour rather than security.
return await workflow('audit', {
  ...args,
  focus: args?.focus ?? 'bugs: wrong results, crashes, unhandled errors, off-by-one and boundary mistakes, races (not style, not performance)',
});
