import { buildParams, chooseTtls } from './anthropic.js';
import { type BillingCalibration, outputTokens, promptBlocks } from './billing.js';
import { CacheRules, minCacheTokens } from './cache-rules.js';
import {
  type CacheStrategy,
  CacheWarmer,
  DEFAULT_CACHE_STRATEGY,
  headKey,
  TtlChooser,
} from './cache-strategy.js';
import { type AnswerSizes, answerFor, prose } from './diligent-answer.js';
import { bareModel, isBatchModel } from './pricing.js';
import { declaredNames } from './repo-map.js';
import {
  abortableSleep,
  type ContentBlock,
  type ModelProvider,
  type ModelReply,
  type ModelRequest,
  messageText,
  type ToolCall,
  type Usage,
} from './types.js';

/**
 * A simulated model that works like a diligent agent, for the estimate's dry runs: through the real
 * agent loop and the real tools it reads the files its task names (whole, page by page), then what
 * they import (to a bound), makes the edit and runs the tests when its task is a fix, and answers
 * with realistic sizes and the world's number of findings per file. Its requests are billed as
 * the API bills them (billing.ts, cache-rules.ts), breakpoints placed as the real provider places them.
 */

export interface DiligentCalibration {
  /** Findings an agent reports for the file it audits, per world. */
  findingsPerFile: { quiet: number; busy: number };
  /** Files an agent reads beyond those its task names (what they import). */
  importReads: number;
  answerChars: AnswerSizes;
  /** Characters of the text a model writes before its tool calls. */
  toolTurnTextChars: number;
  billing: BillingCalibration;
}

export interface DiligentOptions {
  /** The model whose prices and cache minimum apply. */
  model: string;
  world: 'quiet' | 'busy';
  calibration: DiligentCalibration;
  latencyMs: number;
  cache?: CacheStrategy;
  /** The clock of the cache (its TTLs and their choice); tests inject one. */
  now?: () => number;
}

interface Read {
  to: number;
  of: number;
  text: string;
}

const FILE_NAME = /<file-name>\n([\s\S]*?)\n<\/file-name>/g;
const FILE_RESULT = /<file path="([^"]+)" lines="(\d+)-(\d+)" of="(\d+)"[^>]*>\n([\s\S]*?)\n<\/file>/g;
const IMPORT =
  /(?:from\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|^from\s+(\.+[\w.]*)\s+import|^import\s+['"]([^'"]+)['"])/gm;

/** What the conversation so far has read, file by file. */
function readsOf(request: ModelRequest): Map<string, Read> {
  const reads = new Map<string, Read>();
  for (const m of request.messages) {
    if (m.role !== 'user' || typeof m.content === 'string') continue;
    for (const block of m.content) {
      if (block.type !== 'tool_result') continue;
      for (const [, path, , to, of, body] of block.content.matchAll(FILE_RESULT)) {
        const before = reads.get(path!);
        reads.set(path!, { to: Number(to), of: Number(of), text: `${before?.text ?? ''}${body}\n` });
      }
    }
  }
  return reads;
}

function calledTools(request: ModelRequest): ToolCall[] {
  return request.messages.flatMap((m) =>
    m.role === 'assistant' && typeof m.content !== 'string'
      ? m.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, name: b.name, input: b.input }] : []))
      : [],
  );
}

/** Local files a file imports, as the repository map names them. */
export function importsOf(path: string, text: string, known: Set<string>): string[] {
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const out: string[] = [];
  // Tool results number their lines (`12: from .b import x`): the numbers go before matching.
  for (const match of text.replace(/^\s*\d+: /gm, '').matchAll(IMPORT)) {
    const spec = (match[1] ?? match[2] ?? match[3] ?? match[4] ?? '').replace(/^\s*\d+: /, '');
    if (!spec.startsWith('.')) continue;
    const dots = /^\.+/.exec(spec)![0].length;
    const pyStyle = match[3] !== undefined;
    const parts = dir ? dir.split('/') : [];
    const rest = pyStyle ? spec.slice(dots).split('.').filter(Boolean).join('/') : spec;
    const up = pyStyle ? dots - 1 : 0;
    const base = [...parts.slice(0, parts.length - up)];
    const joined = pyStyle ? [...base, rest].filter(Boolean).join('/') : normalise([...base, rest].join('/'));
    for (const candidate of [
      joined,
      `${joined}.py`,
      `${joined}.js`,
      `${joined}.ts`,
      `${joined.replace(/\.js$/, '.ts')}`,
    ]) {
      if (known.has(candidate) && candidate !== path && !out.includes(candidate)) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}

function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return out.join('/');
}

/** The paths the repository map in the system prompt lists. */
function mapPaths(system: string): Set<string> {
  const map = /<repository-map>\n([\s\S]*?)\n<\/repository-map>/.exec(system)?.[1] ?? '';
  return new Set([...map.matchAll(/^(\S+) \(\d+ lines\)/gm)].map((m) => m[1]!));
}

/** The tool calls of the next turn, or none when the agent is ready to answer. */
export function nextCalls(request: ModelRequest, calibration: DiligentCalibration): ToolCall[] {
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  if (!offered.has('read_file')) return [];
  const task = request.messages[0] ? messageText(request.messages[0]) : '';
  const targets = [...task.matchAll(FILE_NAME)].map((m) => m[1]!.trim());
  const reads = readsOf(request);
  const called = calledTools(request);
  const page = (path: string): { name: string; input: Record<string, unknown> }[] => {
    const read = reads.get(path);
    if (!read) return [{ name: 'read_file', input: { path } }];
    if (read.to < read.of)
      return [
        {
          name: 'read_file',
          input: { path, start_line: read.to + 1, end_line: Math.min(read.of, read.to + 2000) },
        },
      ];
    return [];
  };
  const calls = targets.flatMap(page);
  if (calls.length === 0) {
    const known = mapPaths(request.system);
    const wanted = targets
      .flatMap((t) => importsOf(t, reads.get(t)?.text ?? '', known))
      .filter((p) => !targets.includes(p));
    // One module a turn: a model reads an import, then decides whether it needs the next.
    const imports = wanted.slice(0, Math.max(0, calibration.importReads)).map(page);
    calls.push(...(imports.find((c) => c.length > 0) ?? []));
  }
  if (calls.length === 0 && /\bcallers\b/.test(task) && offered.has('search') && targets[0]) {
    // A task that asks for the callers: one search for the first name the file declares.
    if (!called.some((c) => c.name === 'search')) {
      const name = declaredNames(reads.get(targets[0])?.text.replace(/^\d+: /gm, '') ?? '')[0] ?? 'main';
      calls.push({ name: 'search', input: { pattern: `${name}\\(` } });
    }
  }
  if (calls.length === 0 && /^Fix\b|\bFix the\b/m.test(task) && offered.has('edit_file') && targets[0]) {
    const target = targets[0];
    if (!called.some((c) => c.name === 'edit_file')) {
      const wantedLine = Number(/at line (\d+)/.exec(task)?.[1] ?? 1);
      const lines = (reads.get(target)?.text ?? '').split('\n').map((l) => l.replace(/^\d+: /, ''));
      const line = lines[Math.min(lines.length - 1, Math.max(0, wantedLine - 1))] ?? '';
      const old = line.trim().length > 0 ? line : (lines.find((l) => l.trim().length > 8) ?? '');
      calls.push({
        name: 'edit_file',
        input: { path: target, old_string: old, new_string: `${old} // checked` },
      });
    } else if (offered.has('run_tests') && !called.some((c) => c.name === 'run_tests')) {
      calls.push({ name: 'run_tests', input: {} });
    }
  }
  const turn = called.length;
  return calls.map((c, i) => ({ id: `toolu_${request.agent.index}_${turn}_${i}`, ...c }));
}

/** The diligent simulated provider. */
export function createDiligentProvider(options: DiligentOptions): ModelProvider {
  const { calibration } = options;
  // `MODEL?batch=1`: a run through the Message Batches API, every token billed at the batch rate.
  const batch = isBatchModel(options.model);
  const model = bareModel(options.model);
  const strategy = options.cache ?? DEFAULT_CACHE_STRATEGY;
  const rules = new CacheRules(minCacheTokens(model), options.now);
  const warmer = new CacheWarmer();
  const ttls = new TtlChooser(options.now);
  return {
    id: `diligent:${options.world}`,
    defaultModel: options.model,
    modelFor: () => options.model,
    structuredOutput: 'native',
    async complete(request: ModelRequest): Promise<ModelReply> {
      const params = buildParams(
        request,
        model,
        { structured: 'native', cache: strategy },
        chooseTtls(ttls, request, model),
      );
      const blocks = promptBlocks(params, calibration.billing);
      const headEnd = blocks.findIndex((b) => b.text.startsWith('{"role"'));
      const headTokens = blocks
        .slice(0, headEnd < 0 ? blocks.length : headEnd)
        .reduce((s, b) => s + b.tokens, 0);
      const key = headKey(model, request.system, params.tools);
      const warmed = await warmer.enter(key, strategy.enabled && headTokens >= minCacheTokens(model));
      try {
        const bill = rules.bill(blocks);
        await abortableSleep(options.latencyMs, request.signal);
        rules.commit(bill.writes);
        const calls = nextCalls(request, calibration);
        const content: ContentBlock[] = [];
        let output: unknown;
        let text = '';
        if (calls.length > 0) {
          text = prose(calibration.toolTurnTextChars, calls.length);
          content.push({ type: 'text', text });
          for (const c of calls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
        } else {
          const task = request.messages[0] ? messageText(request.messages[0]) : '';
          // A task over one file (a fenced file name, no fenced finding) reports the world's count of findings.
          const perFile = /<file-name>\n/.test(task) && !/<finding>\n/.test(task);
          const target = [...task.matchAll(FILE_NAME)][0]?.[1]?.trim();
          const lines = (target && readsOf(request).get(target)?.of) || 100;
          if (request.schema) {
            output = answerFor(request.schema, {
              world: options.world,
              found: perFile ? calibration.findingsPerFile[options.world] : options.world === 'busy' ? 1 : 0,
              sizes: calibration.answerChars,
              lines,
              seed: request.agent.index,
            });
            text = JSON.stringify(output);
          } else text = prose(calibration.answerChars.report, request.agent.index);
          content.push({ type: 'text', text });
        }
        const usage: Usage = {
          ...bill.usage,
          outputTokens: outputTokens(content, calibration.billing),
          ...(bill.cacheWrite1hTokens > 0 ? { cacheWrite1hTokens: bill.cacheWrite1hTokens } : {}),
        };
        if (batch) usage.batch = { ...usage };
        return { text, ...(output !== undefined ? { output } : {}), toolCalls: calls, content, usage, model };
      } finally {
        warmed();
      }
    },
  };
}
