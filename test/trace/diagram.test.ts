import { describe, expect, test } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { scriptJson } from '../../src/report/trace.js';
import { compactTranscript, pageBudgetPerAgent } from '../../src/report/trace-compact.js';
import { agentsOf, phaseSummaries } from '../../src/report/trace-data.js';
import {
  MAX_DIAGRAM_PHASES,
  mermaidLabel,
  runDiagram,
  runDiagramOf,
  traceArtifactLine,
} from '../../src/report/trace-diagram.js';
import { findingAgents } from '../../src/report/trace-text.js';

const usage = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 5, cacheWriteTokens: 0 };

const EVENTS: RunEvent[] = [
  { t: 0, type: 'run.started', runId: 'r', name: 'n', concurrency: 2, maxAgents: 10 },
  { t: 1, type: 'phase', phase: 'Baseline' },
  { t: 40, type: 'oracle', passed: false, exitCode: 1, summary: '3 passed, 4 failed', durationMs: 39 },
  { t: 41, type: 'phase', phase: 'Find' },
  { t: 42, type: 'agent.queued', index: 0, label: 'find a.js', phase: 'Find' },
  { t: 42, type: 'agent.queued', index: 1, label: 'find b.js', phase: 'Find' },
  { t: 43, type: 'agent.started', index: 0, label: 'find a.js', phase: 'Find', model: 'm' },
  { t: 44, type: 'agent.started', index: 1, label: 'find b.js', phase: 'Find', model: 'm' },
  { t: 50, type: 'agent.turn', index: 0, turn: 1, model: 'm', usage, retries: 0, tools: [] },
  {
    t: 50,
    type: 'agent.finished',
    index: 0,
    label: 'find a.js',
    phase: 'Find',
    status: 'completed',
    usage,
    usd: 0.5,
  },
  {
    t: 51,
    type: 'agent.finished',
    index: 1,
    label: 'find b.js',
    phase: 'Find',
    status: 'failed',
    usage,
    usd: 0.25,
    error: 'boom',
  },
  { t: 52, type: 'phase', phase: 'Verify "quoted" <b>' },
  { t: 53, type: 'agent.queued', index: 2, label: 'verify a.js:3', phase: 'Verify "quoted" <b>' },
  {
    t: 60,
    type: 'agent.finished',
    index: 3,
    label: 'verify a.js:9',
    phase: 'Verify "quoted" <b>',
    status: 'completed',
    usage,
    usd: null,
    replayed: true,
  },
];

describe('the run folded from its events', () => {
  test('agents by index with their times and outcomes, phases in order with totals and the oracle runs', () => {
    const folded = agentsOf(EVENTS);
    expect(folded.agents.map((a) => [a.index, a.status, a.queued, a.started, a.finished, a.turns])).toEqual([
      [0, 'done', 42, 43, 50, 1],
      [1, 'failed', 42, 44, 51, 0],
      [2, 'queued', 53, undefined, undefined, 0],
      [3, 'replayed', 60, undefined, 60, 0],
    ]);
    const phases = phaseSummaries(folded);
    expect(phases.map((p) => [p.name, p.agents, p.statuses, p.tokens, p.usd, p.oracles])).toEqual([
      ['Baseline', 0, {}, 0, null, 1],
      ['Find', 2, { done: 1, failed: 1 }, 230, 0.75, 0],
      ['Verify "quoted" <b>', 2, { queued: 1, replayed: 1 }, 115, null, 0],
    ]);
    expect(findingAgents(folded.agents, { title: 't', file: 'a.js', line: 3 }).map((a) => a.index)).toEqual([
      0, 2,
    ]);
  });
});

describe('runDiagram: the Mermaid diagram for the pull request', () => {
  test('one node per phase with its agents by outcome and its tests, coloured by the worst outcome', () => {
    expect(runDiagramOf(EVENTS)).toBe(
      [
        '```mermaid',
        'flowchart LR',
        '  p0["Baseline<br/>tests fail: 3 passed, 4 failed"]:::done',
        '  p1["Find<br/>2 agents: 1 done, 1 failed"]:::failed',
        '  p2["Verify #quot;quoted#quot; #lt;b#gt;<br/>2 agents: 1 replayed, 1 queued"]:::stopped',
        '  p0 --> p1 --> p2',
        '  classDef done fill:#dafbe1,stroke:#2e9e5b,color:#1f2328',
        '  classDef failed fill:#ffebe9,stroke:#d64545,color:#1f2328',
        '  classDef stopped fill:#fff1e0,stroke:#e08a2e,color:#1f2328',
        '```',
      ].join('\n'),
    );
  });

  test('a phase name cannot close the fence or the label, and many phases end in a count', () => {
    expect(mermaidLabel('a ```\nb"] --> x["#1')).toBe("a ''' b#quot;  --#gt; x #quot;#35;1");
    const many = Array.from({ length: MAX_DIAGRAM_PHASES + 3 }, (_, i) => ({
      name: `P${i}`,
      start: 0,
      end: 1,
      agents: 1,
      statuses: { done: 1 },
      tokens: 1,
      usd: null,
      oracles: 0,
    }));
    const text = runDiagram(many);
    expect(text).toContain('  more["3 more phases"]');
    expect(text).toContain('p11 --> more');
    expect(text.match(/```/g)).toHaveLength(2);
    expect(runDiagram([])).toBe('');
  });
});

describe('the page data', () => {
  test('is embedded with no < or > at all, so neither </script> nor <!-- can occur', () => {
    const json = scriptJson({ a: '</script><!-- x --> \u2028' });
    expect(json).not.toMatch(/[<>\u2028]/);
    expect(JSON.parse(json)).toEqual({ a: '</script><!-- x --> \u2028' });
  });

  test('keeps each transcript within its share: start and end kept, the middle counted', () => {
    expect(pageBudgetPerAgent(1)).toBe(40_000);
    expect(pageBudgetPerAgent(1000)).toBe(600);
    const tool = (i: number) => ({
      t: i,
      agent: 0,
      type: 'tool' as const,
      turn: 1,
      id: `c${i}`,
      name: 'read_file',
      output: 'x'.repeat(150),
      isError: false,
      ms: 1,
    });
    const lines = [
      { t: 0, agent: 0, type: 'start' as const, index: 0, model: 'm', prompt: 'p'.repeat(5000) },
      ...Array.from({ length: 20 }, (_, i) => tool(i + 1)),
      {
        t: 99,
        agent: 0,
        type: 'end' as const,
        status: 'completed' as const,
        result: 'done',
        usage,
        usd: null,
        attempts: 1,
        turns: 2,
        ms: 5,
      },
    ];
    const page = compactTranscript(lines, 1200) as Array<Record<string, unknown>>;
    expect(JSON.stringify(page).length).toBeLessThan(1400);
    expect(page[0]!.type).toBe('start');
    expect(String(page[0]!.prompt)).toMatch(/^p{400}\n\[… 4600 more characters/);
    expect(page.at(-1)).toMatchObject({ type: 'end', result: 'done' });
    expect(page.at(-2)).toMatchObject({ type: 'omitted' });
    expect(page.filter((l) => l.type === 'tool').length + (page.at(-2)!.lines as number)).toBe(20);
  });
});

test('the trace line names the artifact the workflow uploads and the page in it', () => {
  expect(
    traceArtifactLine({
      runUrl: 'https://github.com/o/r/actions/runs/123',
      actionsRunId: '123',
      runId: '20261126-142501-3fa9c2',
    }),
  ).toBe(
    'Trace: the artifact [`dynamic-workflows-123`](https://github.com/o/r/actions/runs/123#artifacts) holds the run directory; ' +
      "open `20261126-142501-3fa9c2/trace.html` in a browser for the timeline and every agent's transcript, " +
      'or run `dwf show 20261126-142501-3fa9c2 --runs-dir DIR` on the unzipped directory.',
  );
});
