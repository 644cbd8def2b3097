import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { agentTypesIn, readAgentDefinition } from '../../src/agents/agent-definitions.js';
import { main } from '../../src/cli/main.js';
import { createAnthropicProvider } from '../../src/models/anthropic.js';
import { messageReply } from '../action/stand-ins.js';
import { git, gitRepoWith, runScript, tempDir } from '../helpers.js';

// Issue 12, "Claude Code's agent definitions": agentType names .claude/agents/<name>.md.

const API = 'http://llm.test';
const root = join(import.meta.dirname, '..', '..');

const SCOUT = `---
name: scout
description: Finds where a symbol is defined. Use for quick lookups.
tools: Read, Grep, WebFetch, Bash(git log:*)
model: haiku
color: blue
---

You are a scout. Report file:line locations only, one per line.
`;

interface Sent {
  model: string;
  system: Array<{ text: string }>;
  tools?: Array<{ name: string }>;
}

let sent: Sent[];

beforeEach(() => {
  nock.disableNetConnect();
  sent = [];
});

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** The Messages API at its edge: each request is kept, each reply is a short text answer. */
function api(replies: number) {
  nock(API)
    .post('/v1/messages')
    .times(replies)
    .reply((_uri, body) => {
      sent.push(body as Sent);
      return [
        200,
        messageReply(`msg_${sent.length}`, (body as Sent).model, [{ type: 'text', text: 'src/a.js:1' }]),
      ];
    });
}

const provider = () =>
  createAnthropicProvider({
    model: 'claude-sonnet-5-5',
    apiKey: 'sk-ant-test-0',
    baseURL: API,
    auth: 'bearer',
  });

describe('reading a definition', () => {
  test('front matter and body: tools mapped to ours, unknown tools and fields listed as ignored', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'scout.md'), SCOUT);
    expect(readAgentDefinition(join(dir, 'scout.md'))).toEqual({
      name: 'scout',
      description: 'Finds where a symbol is defined. Use for quick lookups.',
      prompt: 'You are a scout. Report file:line locations only, one per line.',
      tools: ['read_file', 'search', 'run_tests', 'run_command'],
      model: 'haiku',
      source: join(dir, 'scout.md'),
      ignored: ['color', 'tool WebFetch'],
    });
  });

  test('a list of tools, model inherit, and a file without front matter', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.md'), '---\nname: a\ntools:\n  - Read\n  - Glob\nmodel: inherit\n---\nbody\n');
    expect(readAgentDefinition(join(dir, 'a.md'))).toMatchObject({ tools: ['read_file', 'list_files'] });
    expect(readAgentDefinition(join(dir, 'a.md')).model).toBeUndefined();
    writeFileSync(join(dir, 'b.md'), 'just text\n');
    expect(() => readAgentDefinition(join(dir, 'b.md'))).toThrow(
      `agent definition ${join(dir, 'b.md')}: it does not start with YAML front matter between --- lines`,
    );
  });

  test('the literal agent types of a script', () => {
    expect(
      agentTypesIn(
        `agent(p, { agentType: 'scout' }); agent(q, {agentType:"Plan"}); agent(r, { agentType: t })`,
      ),
    ).toEqual(['scout', 'Plan']);
  });
});

describe('an agent with agentType', () => {
  test("gets the definition's instructions after ours, only its tools, and its model", async () => {
    const repo = gitRepoWith({ '.claude/agents/scout.md': SCOUT, 'src/a.js': 'export const a = 1;\n' });
    api(2);
    const { summary } = await runScript(
      `const a = await agent('where is a defined?', { agentType: 'scout' });
const b = await agent('and now?', { agentType: 'scout', model: 'opus' });
return [a, b];`,
      { provider: provider(), workspace: { repoDir: repo } },
    );
    expect(summary).toMatchObject({ status: 'completed', result: ['src/a.js:1', 'src/a.js:1'] });
    const system = sent[0]!.system.map((b) => b.text).join('\n');
    expect(system).toMatch(/^You are one agent in an automated workflow/);
    expect(system).toContain(
      "Your role, as the repository's agent definition describes it (the rules above still apply):\nYou are a scout.",
    );
    // Bash maps to run_tests and run_command, which this run offers no agent (no test command, no allowed commands).
    expect(sent[0]!.tools?.map((t) => t.name).sort()).toEqual(['read_file', 'search']);
    expect(sent[0]!.model).toBe('claude-haiku-5-5');
    // The call's own model wins over the definition's.
    expect(sent[1]!.model).toBe('claude-opus-5-5');
  });

  test("Claude Code's built-in types need no file: Explore is read-only", async () => {
    const repo = gitRepoWith({ 'src/a.js': 'export const a = 1;\n' });
    api(1);
    await runScript(`return await agent('look around', { agentType: 'Explore' });`, {
      provider: provider(),
      workspace: { repoDir: repo },
    });
    expect(sent[0]!.tools?.map((t) => t.name).sort()).toEqual(['list_files', 'read_file', 'search']);
    expect(sent[0]!.model).toBe('claude-sonnet-5-5');
  });

  test('an unknown agent type is refused before the run starts, through dwf run', async () => {
    const repo = gitRepoWith({
      'w.js': `export const meta = { name: 'w', description: 'd' };\nreturn await agent('x', { agentType: 'ticker-scout' });\n`,
    });
    let stderr = '';
    const code = await main(['run', 'w.js', '--runs-dir', 'runs'], {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      env: {},
      cwd: repo,
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      `dwf: agentType "ticker-scout" has no definition: looked in ${join(root, 'workflows', 'agents')}/, ${join(repo, '.claude', 'agents')}/ and the built-in types; known: general-purpose, Explore, Plan. Add .claude/agents/ticker-scout.md`,
    );
  });

  test('a model that calls a tool its definition does not grant is refused, through dwf run', async () => {
    const repo = gitRepoWith({
      '.claude/agents/reader.md':
        '---\nname: reader\ndescription: reads\ntools: Read\n---\nRead, never write.\n',
      'src/a.js': 'export const a = 1;\n',
      'w.js': `export const meta = { name: 'w', description: 'd' };\nreturn await agent('look at src/a.js', { agentType: 'reader' });\n`,
    });
    const replies = [
      [
        {
          type: 'tool_use',
          id: 'toolu_1',
          name: 'write_file',
          input: { path: 'src/a.js', content: 'pwned\n' },
        },
      ],
      [{ type: 'text', text: 'done' }],
    ];
    nock(API)
      .post('/v1/messages')
      .times(2)
      .reply((_uri, body) => {
        sent.push(body as Sent);
        const content = replies[sent.length - 1]!;
        return [200, messageReply(`msg_${sent.length}`, (body as Sent).model, content, sent.length === 1)];
      });
    const code = await main(
      ['run', 'w.js', '--model', 'anthropic:claude-sonnet-5-5', '--runs-dir', 'runs', '--json'],
      {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: { ANTHROPIC_API_KEY: 'sk-ant-test-0', ANTHROPIC_BASE_URL: API },
        cwd: repo,
      },
    );
    expect(code).toBe(0);
    expect(sent[0]!.tools?.map((t) => t.name)).toEqual(['read_file']);
    // The refusal is the tool result the model reads next; nothing was written, no branch was made.
    const second = JSON.stringify((sent[1] as unknown as { messages: unknown[] }).messages);
    expect(second).toContain("refused: write_file is not among this agent's tools (read_file)");
    expect(readFileSync(join(repo, 'src/a.js'), 'utf8')).toBe('export const a = 1;\n');
    expect(git(repo, 'branch', '--list', 'dwf/*')).toBe('');
  });

  test('dwf validate checks the agent types a script names against the repository and the built-ins', async () => {
    const repo = gitRepoWith({
      '.claude/agents/scout.md': SCOUT,
      'good.js': `export const meta = { name: 'g', description: 'd' };\nawait agent('a', { agentType: 'scout' });\nreturn await agent('b', { agentType: 'Plan' });\n`,
      'bad.js': `export const meta = { name: 'b', description: 'd' };\nreturn await agent('x', { agentType: 'no-such-agent' });\n`,
    });
    const validate = async (...argv: string[]) => {
      let stdout = '';
      const code = await main(['validate', ...argv], {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: () => true },
        env: {},
        cwd: repo,
      });
      return { code, stdout };
    };
    expect(await validate('good.js')).toEqual({
      code: 0,
      stdout: 'good.js: valid workflow "g", no phases declared\n',
    });
    const bad = await validate('bad.js');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /^bad\.js: agentType "no-such-agent" has no definition: looked in .*known: general-purpose, Explore, Plan, scout\./,
    );
    // From elsewhere, --repo names the repository whose definitions count.
    const elsewhere = tempDir();
    let out = '';
    expect(
      await main(['validate', join(repo, 'good.js'), '--repo', repo], {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: () => true },
        env: {},
        cwd: elsewhere,
      }),
    ).toBe(0);
  });

  test('an agent type chosen at run time and defined nowhere fails that agent() call with the same reason', async () => {
    const repo = gitRepoWith({ 'src/a.js': 'x\n' });
    const { summary } = await runScript(
      `const t = ['ghost'][0];\ntry { await agent('x', { agentType: t }); } catch (e) { return e.message; }`,
      { workspace: { repoDir: repo } },
    );
    expect(summary.result).toMatch(/^agent\(\): agentType "ghost" has no definition/);
  });
});
