export const meta = {
  name: 'sweep',
  description:
    'The scheduled security sweep: an audit of the files in scope that leaves out findings an earlier sweep already reported.',
  whenToUse: 'On a schedule, with the budget from the configuration as the approval. args: { files, known?, rounds?, fix? }',
  // args.files may be split across runners (a sharded plan binds shard(...)): each file is worked on alone.
  shard: 'files',
  phases: [
    { title: 'Baseline' },
    { title: 'Find' },
    { title: 'Verify' },
    { title: 'Fix' },
    { title: 'Re-verify' },
    { title: 'Report' },
  ],
};

// `known` holds the fingerprints (file: title) of findings earlier sweeps reported. Unattended, a
// sweep fixes high and critical findings only unless told otherwise (the plan binds `fix`).
const result = await workflow('audit', {
  ...args,
  fix: args?.fix ?? ['high', 'critical'],
  focus: args?.focus ?? 'security holes: injection, path traversal, broken access control, secrets in code, unsafe deserialisation',
});
log(`${result.findings.length} new findings; ${(args?.known ?? []).length} known ones left out`);
return result;
