import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { agentTypesIn, readAgentDefinition } from '../../src/agents/agent-definitions.js';
import { main } from '../../src/cli/main.js';
import { messageReply } from '../action/stand-ins.js';
import { git, tempDir } from '../helpers.js';

// Issue 12: real public Claude Code workflow scripts that use agentType run unchanged, with their
// repositories' definitions (test/fixtures/claude-code, each with its license; SOURCES.md says where
// they come from). The model is a local stand-in at the network's edge that records every request.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'claude-code');
const API = 'http://llm.test';

interface Sent {
  model: string;
  output_config?: { format?: { schema?: Schema } };
  system: Array<{ text: string }>;
  tools?: Array<{ name: string }>;
  messages: Array<{ role: string; content: unknown }>;
}

let sent: Sent[];

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minItems?: number;
}

/**
 * The least answer a schema accepts: the stand-in answers a structured request with it, so that a
 * script that asks for JSON gets JSON and goes on to its next phase (its later agents included).
 */
function leastValid(schema: Schema): unknown {
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(
        (schema.required ?? []).map((k) => [k, leastValid(schema.properties?.[k] ?? {})]),
      );
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => leastValid(schema.items ?? {}));
    case 'boolean':
      return true;
    case 'integer':
    case 'number':
      return 1;
    case 'null':
      return null;
    default:
      return 'x';
  }
}

beforeEach(() => {
  nock.disableNetConnect();
  sent = [];
  nock(API)
    .persist()
    .post('/v1/messages')
    .reply((_uri, body) => {
      sent.push(body as Sent);
      return [
        200,
        messageReply(`msg_${sent.length}`, (body as Sent).model, [
          {
            type: 'text',
            text: (body as Sent).output_config?.format?.schema
              ? JSON.stringify(leastValid((body as Sent).output_config!.format!.schema!))
              : `review ${sent.length}: PASS`,
          },
        ]),
      ];
    });
});

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** The arguments each script expects (its comments say so); a file name for the others. */
const ARGS: Record<string, unknown> = {
  rocar__sdd: { feature: 'login', cycle: 1, now: '2026-11-26T00:00:00Z', run_id: 'r1' },
};
const argsFor = (repo: string) =>
  JSON.stringify(Object.entries(ARGS).find(([prefix]) => repo.startsWith(prefix))?.[1] ?? 'example.py');

/** Every fixture repository and its workflow scripts (under .claude/workflows, or a plugin's workflows/). */
const repositories = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

function scriptsOf(repo: string): string[] {
  return [join('.claude', 'workflows'), 'workflows']
    .filter((dir) => existsSync(join(FIXTURES, repo, dir)))
    .flatMap((dir) =>
      readdirSync(join(FIXTURES, repo, dir))
        .filter((f) => f.endsWith('.js'))
        .map((f) => join(dir, f)),
    );
}

/** Where a type's definition is: the repository's .claude/agents, or a plugin's agents/ (`plugin:name`). */
function definitionOf(root: string, type: string): string {
  const [plugin, name] = type.includes(':') ? type.split(':') : [undefined, type];
  if (plugin) {
    const manifest = JSON.parse(readFileSync(join(root, '.claude-plugin', 'plugin.json'), 'utf8'));
    expect(manifest.name).toBe(plugin);
    return join(root, 'agents', `${name}.md`);
  }
  return join(root, '.claude', 'agents', `${name}.md`);
}

describe('public workflow scripts with agentType, unchanged', () => {
  test('the fixtures hold scripts and the definitions they name', () => {
    expect(repositories.length).toBeGreaterThan(0);
    for (const repo of repositories) {
      for (const script of scriptsOf(repo)) {
        for (const type of agentTypesIn(readFileSync(join(FIXTURES, repo, script), 'utf8'))) {
          if (['general-purpose', 'Explore', 'Plan'].includes(type)) continue;
          const path = definitionOf(join(FIXTURES, repo), type);
          expect(readAgentDefinition(path).name, `${repo}: ${type}`).toBe(type.split(':').pop());
        }
      }
    }
  });

  test.each(repositories.flatMap((repo) => scriptsOf(repo).map((script) => [repo, script])))(
    '%s %s runs with its definitions applied',
    async (repo, script) => {
      const dir = join(tempDir(), 'repo');
      cpSync(join(FIXTURES, repo), dir, { recursive: true });
      git(dir, 'init', '-q', '--initial-branch=main');
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', 'fixture');
      const source = readFileSync(join(dir, script), 'utf8');
      let stdout = '';
      let stderr = '';
      const code = await main(
        [
          'run',
          script,
          '--args',
          argsFor(repo),
          '--model',
          'anthropic:claude-sonnet-5-5',
          '--json',
          '--runs-dir',
          'runs',
        ],
        {
          stdout: { write: (t: string) => (stdout += t) },
          stderr: { write: (t: string) => (stderr += t) },
          env: { ANTHROPIC_API_KEY: 'sk-ant-test-0', ANTHROPIC_BASE_URL: API },
          cwd: dir,
        },
      );
      expect(stderr).toBe('');
      expect(JSON.parse(stdout).error).toBeUndefined();
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ status: 'completed' });
      // Each definition whose agents ran reached them: instructions after ours, its tools, its model.
      // (Which agents run depends on the answers: the stand-in's least answers skip some branches.)
      let applied = 0;
      for (const type of agentTypesIn(source)) {
        if (['general-purpose', 'Explore', 'Plan'].includes(type)) continue;
        const definition = readAgentDefinition(definitionOf(dir, type));
        const requests = sent.filter((r) => r.system.some((b) => b.text.includes(definition.prompt)));
        if (requests.length > 0) applied++;
        for (const request of requests) {
          expect(request.system[0]!.text).toMatch(/^You are one agent in an automated workflow/);
          const offered = (request.tools ?? []).map((t) => t.name).filter((t) => t !== 'submit_answer');
          for (const tool of offered)
            expect(definition.tools ?? [tool], `${type} offered ${tool}`).toContain(tool);
          if (definition.model) expect(request.model).toContain(definition.model);
        }
      }
      expect(applied, 'no definition reached an agent').toBeGreaterThan(0);
    },
    30_000,
  );
});
