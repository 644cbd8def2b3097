import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { agentTypesIn, readAgentDefinition } from '../../src/agents/agent-definitions.js';
import { main } from '../../src/cli/main.js';
import { git, tempDir } from '../helpers.js';

// Issue 12: real public Claude Code workflow scripts that use agentType run unchanged, with their
// repositories' definitions (test/fixtures/claude-code, each with its license; SOURCES.md says where
// they come from). The model is a local stand-in at the network's edge that records every request.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'claude-code');
const API = 'http://llm.test';

interface Sent {
  model: string;
  system: Array<{ text: string }>;
  tools?: Array<{ name: string }>;
  messages: Array<{ role: string; content: unknown }>;
}

let sent: Sent[];

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
        {
          id: `msg_${sent.length}`,
          type: 'message',
          role: 'assistant',
          model: (body as Sent).model,
          content: [{ type: 'text', text: `review ${sent.length}: PASS` }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: 100,
            output_tokens: 10,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      ];
    });
});

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** Every fixture repository and its workflow scripts (the files under .claude/workflows). */
const repositories = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

function scriptsOf(repo: string): string[] {
  const dir = join(FIXTURES, repo, '.claude', 'workflows');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => join('.claude', 'workflows', f));
}

describe('public workflow scripts with agentType, unchanged', () => {
  test('the fixtures hold scripts and the definitions they name', () => {
    expect(repositories.length).toBeGreaterThan(0);
    for (const repo of repositories) {
      for (const script of scriptsOf(repo)) {
        for (const type of agentTypesIn(readFileSync(join(FIXTURES, repo, script), 'utf8'))) {
          const path = join(FIXTURES, repo, '.claude', 'agents', `${type}.md`);
          expect(readAgentDefinition(path).name, `${repo}: ${type}`).toBe(type);
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
          '"example.py"',
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
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ status: 'completed' });
      // Each definition the script names reached its agent: instructions after ours, its tools, its model.
      for (const type of agentTypesIn(source)) {
        const definition = readAgentDefinition(join(dir, '.claude', 'agents', `${type}.md`));
        const request = sent.find((r) => r.system.some((b) => b.text.includes(definition.prompt)));
        expect(request, `no request carried ${type}'s instructions`).toBeDefined();
        expect(request!.system[0]!.text).toMatch(/^You are one agent in an automated workflow/);
        const offered = (request!.tools ?? []).map((t) => t.name);
        for (const tool of offered) expect(definition.tools ?? [tool]).toContain(tool);
        if (definition.model) expect(request!.model).toContain(definition.model);
      }
    },
    30_000,
  );
});
