import { runGit } from '../agents/git.js';

/**
 * Groups of tracked files a fan-out leaves out, by the conventions of each ecosystem: what a
 * maintainer would not call the code of the project, even where it is written in a programming language.
 */
export type ScopeGroup =
  | 'vendored'
  | 'generated'
  | 'ci'
  | 'fuzz'
  | 'benchmarks'
  | 'examples'
  | 'docs'
  | 'tests';

/** How the assessment names each group, in the order it lists them. */
export const GROUP_LABELS: Record<ScopeGroup, string> = {
  tests: 'tests',
  docs: 'docs',
  benchmarks: 'benchmarks',
  fuzz: 'fuzz targets',
  examples: 'examples',
  ci: 'CI and dev-container scripts',
  generated: 'generated code',
  vendored: 'vendored code',
};

/** Path conventions, tried in this order: the first that matches decides. */
const CONVENTIONS: Array<[ScopeGroup, RegExp]> = [
  ['vendored', /(^|\/)(vendor|vendors|third_party|third-party|node_modules|bower_components)\//],
  [
    'generated',
    /(^|\/)(dist|build)\/|\.pb(\.[a-z]+)+$|_pb2(_grpc)?\.py$|(^|\/)zz_generated[^/]*$|[._-]generated\.[a-z0-9]+$|\.gen\.go$|\.min\.(js|css)$/,
  ],
  [
    'ci',
    /^\.(github|devcontainer|circleci|buildkite|gitlab|husky|ci)\/|^\.gitlab-ci\.ya?ml$|^\.travis\.ya?ml$|^(ci|verify|hack)\/[^/]*\.(sh|bash|ps1|bat)$|(^|\/)scripts?\/ci[^/]*$|(^|\/)scripts?\/[^/]*\.(sh|bash|ps1|bat)$/,
  ],
  ['fuzz', /(^|\/)(fuzz|fuzzing|fuzz_targets)\//],
  [
    'benchmarks',
    /(^|\/)(benches|bench|benchmarks?)\/|(^|\/)[^/]+[._-]bench(mark)?s?([._-][^/]*)?\.[a-z0-9]+$/,
  ],
  ['examples', /(^|\/)_?examples?\//],
  ['docs', /^(docs?|documentation|website)\/|(^|\/)docs\//],
  [
    'tests',
    /(^|\/)(tests?|__tests__|__mocks__|spec|specs|testdata|test-d|e2e)\/|(^|\/)tests?\.([cm]?[jt]sx?|py|rb|go|rs|sh|php|java|kt|cs|swift|lua|pl|ex|exs)$|[._-](test|tests|spec)\.[a-z]+$|\.test-d\.[a-z]+$|(^|\/)test_[^/]*\.py$|_test\.(go|py)$|(^|\/)conftest\.py$|_spec\.rb$|(Test|Tests|IT)\.(java|kt|scala)$/,
  ],
];

/** The linguist attributes that move a file into (set, `true`) or keep it out of (unset, `false`) a group. */
const ATTRIBUTES: Record<string, ScopeGroup[]> = {
  'linguist-vendored': ['vendored'],
  'linguist-generated': ['generated'],
  'linguist-documentation': ['docs', 'examples'],
};

/** What `.gitattributes` says of one file: per attribute, true (set), false (unset), or absent. */
export type LinguistAttributes = Partial<Record<keyof typeof ATTRIBUTES, boolean>>;

/** The group a file belongs to, or null for a file of the project's own code. */
export function scopeGroup(file: string, attributes: LinguistAttributes = {}): ScopeGroup | null {
  for (const [attribute, groups] of Object.entries(ATTRIBUTES)) {
    if (attributes[attribute] === true) return groups[0]!;
  }
  const overridden = new Set(
    Object.entries(ATTRIBUTES).flatMap(([attribute, groups]) =>
      attributes[attribute] === false ? groups : [],
    ),
  );
  for (const [group, pattern] of CONVENTIONS) {
    if (!overridden.has(group) && pattern.test(file)) return group;
  }
  return null;
}

/** Files per group, in the order the assessment lists them; the first few paths of each as examples. */
export interface ExcludedGroup {
  group: ScopeGroup;
  label: string;
  files: number;
  examples: string[];
}

export function excludedGroups(groups: Map<string, ScopeGroup>): ExcludedGroup[] {
  const out: ExcludedGroup[] = [];
  for (const group of Object.keys(GROUP_LABELS) as ScopeGroup[]) {
    const files = [...groups].filter(([, g]) => g === group).map(([f]) => f);
    if (files.length > 0)
      out.push({ group, label: GROUP_LABELS[group], files: files.length, examples: files.slice(0, 3) });
  }
  return out;
}

/**
 * The linguist attributes of the files, from every `.gitattributes` git reads, as git itself
 * resolves them (patterns, precedence, `-attr` and `attr=false`). Asks git only when some
 * `.gitattributes` mentions linguist at all.
 */
export async function linguistAttributes(
  repoDir: string,
  files: string[],
  readText: (file: string) => string | undefined,
): Promise<Map<string, LinguistAttributes>> {
  const out = new Map<string, LinguistAttributes>();
  const mentions = files
    .filter((f) => f === '.gitattributes' || f.endsWith('/.gitattributes'))
    .some((f) => /linguist-/.test(readText(f) ?? ''));
  if (!mentions) return out;
  const names = Object.keys(ATTRIBUTES);
  for (let i = 0; i < files.length; i += 500) {
    const batch = files.slice(i, i + 500);
    const stdout = await runGit(['check-attr', '-z', ...names, '--', ...batch], { cwd: repoDir });
    const fields = stdout.split('\0');
    for (let j = 0; j + 2 < fields.length; j += 3) {
      const [file, attribute, value] = [fields[j]!, fields[j + 1]!, fields[j + 2]!];
      const set =
        value === 'set' || value === 'true'
          ? true
          : value === 'unset' || value === 'false'
            ? false
            : undefined;
      if (set === undefined) continue;
      out.set(file, { ...out.get(file), [attribute]: set });
    }
  }
  return out;
}
