import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

/**
 * Claude Code's agent definitions: `.claude/agents/<name>.md`, YAML front matter (`name`,
 * `description`, `tools`, `model`) and a body that is the agent's instructions. A script names one
 * with `agent(prompt, { agentType: 'name' })`. Honoured: the body (added to the agent's
 * instructions, after ours, which stay in force), `tools` (a subset of our confined tools) and
 * `model` (sonnet, opus, haiku or a model id; `inherit` or none: the run's). Everything else (e.g.
 * `color`, `permissionMode`, `memory`) is read and ignored, and listed in `ignored`.
 */
export interface AgentDefinition {
  name: string;
  description: string;
  /** The definition's instructions (its Markdown body); empty for the built-in types. */
  prompt: string;
  /** Our tools the agent may use; undefined: all of them. */
  tools?: string[];
  /** A model alias or id; undefined: the model the script or run gives. */
  model?: string;
  /** Where it came from: a file path, or `built-in`. */
  source: string;
  /** Front-matter fields and tools that have no effect here. */
  ignored: string[];
}

/** Claude Code's tool names and ours: every tool ours is confined to the run's workspace. */
const TOOL_NAMES: Record<string, string[]> = {
  Read: ['read_file'],
  Glob: ['list_files'],
  LS: ['list_files'],
  Grep: ['search'],
  Edit: ['edit_file'],
  MultiEdit: ['edit_file'],
  Write: ['write_file'],
  NotebookEdit: ['edit_file'],
  Bash: ['run_tests', 'run_command'],
};

const READ_ONLY = ['read_file', 'list_files', 'search'];

/** Claude Code's own agent types, which scripts use without a file. */
const BUILT_IN: AgentDefinition[] = [
  {
    name: 'general-purpose',
    description: 'Claude Code’s general-purpose agent: every tool.',
    prompt: '',
    source: 'built-in',
    ignored: [],
  },
  {
    name: 'Explore',
    description: 'Claude Code’s read-only explorer.',
    prompt: '',
    tools: READ_ONLY,
    source: 'built-in',
    ignored: [],
  },
  {
    name: 'Plan',
    description: 'Claude Code’s read-only planner.',
    prompt: '',
    tools: READ_ONLY,
    source: 'built-in',
    ignored: [],
  },
];

const HONOURED = new Set(['name', 'description', 'tools', 'model']);

/**
 * Front matter as Claude Code reads it: YAML where it is YAML, else `key: value` lines (the rest of
 * the line after the first colon, so a description holding `: ` still reads) and `- item` lists.
 */
function readFrontMatter(text: string): Record<string, unknown> | string {
  try {
    const data = yaml.load(text, { schema: yaml.JSON_SCHEMA });
    if (data !== null && typeof data === 'object' && !Array.isArray(data))
      return data as Record<string, unknown>;
  } catch {}
  const data: Record<string, unknown> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const item = /^\s+-\s+(.*)$/.exec(line);
    const entry = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    if (item && last !== undefined) {
      const list = Array.isArray(data[last]) ? (data[last] as unknown[]) : [];
      data[last] = [...list, item[1]!.trim()];
    } else if (entry) {
      last = entry[1]!;
      data[last] = entry[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
    } else if (line.trim() !== '' && !/^\s/.test(line)) {
      return `its front matter cannot be read at "${line.slice(0, 60)}"`;
    }
  }
  return data;
}

/** The front matter and body of a definition file, or the problem with it. */
function splitFrontMatter(text: string): { data: Record<string, unknown>; body: string } | string {
  const match = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)([\s\S]*)$/.exec(text.replace(/^\uFEFF/, ''));
  if (!match) return 'it does not start with YAML front matter between --- lines';
  const data = readFrontMatter(match[1]!);
  if (typeof data === 'string') return data;
  return { data, body: match[2]!.trim() };
}

/** Our tools for a definition's `tools` (a comma-separated string or a list), and the names we lack. */
function mapTools(raw: unknown): { tools?: string[]; ignored: string[] } {
  if (raw === undefined || raw === null) return { ignored: [] };
  const names = (Array.isArray(raw) ? raw : String(raw).split(','))
    .map((n) => String(n).trim())
    // `Bash(git diff:*)`-style permissions name the tool before the parenthesis.
    .map((n) => n.replace(/\(.*\)$/, ''))
    .filter(Boolean);
  if (names.includes('*')) return { ignored: [] };
  const tools = new Set<string>();
  const ignored: string[] = [];
  for (const name of names) {
    const ours = TOOL_NAMES[name];
    if (ours) for (const tool of ours) tools.add(tool);
    else ignored.push(`tool ${name}`);
  }
  return { tools: [...tools], ignored };
}

/** One definition file, read; throws a message naming the file and what is wrong. */
export function readAgentDefinition(path: string): AgentDefinition {
  const parsed = splitFrontMatter(readFileSync(path, 'utf8'));
  if (typeof parsed === 'string') throw new Error(`agent definition ${path}: ${parsed}`);
  const { data, body } = parsed;
  if (typeof data.name !== 'string' || data.name.trim() === '')
    throw new Error(`agent definition ${path}: its front matter has no name`);
  const { tools, ignored } = mapTools(data.tools);
  const model = typeof data.model === 'string' && data.model !== 'inherit' ? data.model : undefined;
  return {
    name: data.name.trim(),
    description: typeof data.description === 'string' ? data.description : '',
    prompt: body,
    ...(tools ? { tools } : {}),
    ...(model ? { model } : {}),
    source: path,
    ignored: [...Object.keys(data).filter((k) => !HONOURED.has(k)), ...ignored],
  };
}

/** A directory of definitions; a plugin's are named `plugin:name`, as Claude Code names them. */
export type DefinitionDir = string | { dir: string; namespace: string };

/**
 * The definition directories of a repository: its `.claude/agents`, and when the repository is a
 * Claude Code plugin (`.claude-plugin/plugin.json`), the plugin's `agents/` under its name.
 */
export function repositoryDefinitionDirs(repoDir: string): DefinitionDir[] {
  const dirs: DefinitionDir[] = [join(repoDir, '.claude', 'agents')];
  const manifest = join(repoDir, '.claude-plugin', 'plugin.json');
  if (existsSync(manifest)) {
    let name: unknown;
    try {
      name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
    } catch {
      throw new Error(`${manifest} is not JSON: its plugin's agent definitions cannot be named`);
    }
    if (typeof name === 'string' && /^[\w.-]+$/.test(name))
      dirs.push({ dir: join(repoDir, 'agents'), namespace: name });
  }
  return dirs;
}

/** How an error names where definitions were looked for. */
export const dirName = (d: DefinitionDir) =>
  typeof d === 'string' ? `${d}/` : `${d.dir}/ (as ${d.namespace}:NAME)`;

/**
 * The definitions a run can use: Claude Code's built-in types, then each directory's `*.md` files
 * in order (a later one with the same name replaces an earlier one). A file that cannot be read is
 * an error naming it.
 */
export function loadAgentDefinitions(dirs: readonly DefinitionDir[]): Map<string, AgentDefinition> {
  const found = new Map(BUILT_IN.map((d) => [d.name, d]));
  for (const entry of dirs) {
    const dir = typeof entry === 'string' ? entry : entry.dir;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.md')) continue;
      const definition = readAgentDefinition(join(dir, file));
      const name = typeof entry === 'string' ? definition.name : `${entry.namespace}:${definition.name}`;
      found.set(name, { ...definition, name });
    }
  }
  return found;
}

/** The agent types a script names as string literals (`agentType: 'name'`), to check before it runs. */
export function agentTypesIn(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/\bagentType\s*:\s*(['"`])([^'"`\n$]+)\1/g)) names.add(match[2]!);
  return [...names];
}

/** The error for an agent type no definition names: which, where it was looked for, and how to add it. */
export function unknownAgentType(
  name: string,
  known: Iterable<string>,
  dirs: readonly DefinitionDir[],
): string {
  return (
    `agentType "${name}" has no definition: looked in ${dirs.map(dirName).join(', ')} and the built-in types; ` +
    `known: ${[...known].join(', ')}. Add .claude/agents/${name}.md (front matter name, description, tools, model; ` +
    'the body is its instructions) or use a known type'
  );
}
