import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PromptCacheEstimator } from './prompt-cache.js';
import {
  abortableSleep,
  estimateTokens,
  ModelError,
  type ModelProvider,
  type ModelReply,
  type ModelRequest,
  messageText,
  textReply,
} from './types.js';

const regex = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

const ruleSchema = z
  .object({
    match: z
      .object({ label: regex.optional(), phase: z.string().optional(), prompt: regex.optional() })
      .strict()
      .default({}),
    result: z.unknown().optional(),
    text: z.string().optional(),
    error: z.string().optional(),
    usage: z
      .object({ input: z.number().int().min(0), output: z.number().int().min(0) })
      .strict()
      .optional(),
    latencyMs: z.number().min(0).optional(),
    // Turns before the answer: in each, the agent asks for these tool calls, and the real tools run.
    steps: z
      .array(
        z
          .array(z.object({ tool: z.string().min(1), input: z.record(z.string(), z.unknown()) }).strict())
          .min(1),
      )
      .optional(),
  })
  .strict()
  .refine(
    (r) => [r.result !== undefined, r.text !== undefined, r.error !== undefined].filter(Boolean).length === 1,
    {
      message: 'each rule needs exactly one of "result", "text" or "error"',
    },
  );

const fileSchema = z.union([
  z.array(ruleSchema),
  // `model` names the model whose replies the file stands for: agents are priced as that model.
  z.object({ model: z.string().min(1).optional(), rules: z.array(ruleSchema) }).strict(),
]);

export type FixtureRule = z.infer<typeof ruleSchema>;

export interface Fixture {
  model?: string;
  rules: FixtureRule[];
}

interface CompiledRule {
  rule: FixtureRule;
  label?: RegExp;
  prompt?: RegExp;
}

export class FixtureFileError extends Error {
  constructor(file: string, problems: string[]) {
    super(`invalid fixture file ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'FixtureFileError';
  }
}

export function loadFixture(file: string): Fixture {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FixtureFileError(file, [(error as Error).message]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.filter((p) => p !== 'rules');
      const at = where.length > 0 ? `rule ${where.map(String).join('.')}` : 'file';
      return `${at}: ${issue.message}`;
    });
    throw new FixtureFileError(file, problems);
  }
  return Array.isArray(parsed.data) ? { rules: parsed.data } : parsed.data;
}

/**
 * Canned replies for testing workflow scripts offline: the first rule whose label, phase and
 * prompt match answers. No match is an agent error, so a missing rule shows up as a `null`.
 */
export function createFixtureProvider(file: string, fixture: Fixture = loadFixture(file)): ModelProvider {
  const compiled: CompiledRule[] = fixture.rules.map((rule) => ({
    rule,
    ...(rule.match.label !== undefined ? { label: new RegExp(rule.match.label) } : {}),
    ...(rule.match.prompt !== undefined ? { prompt: new RegExp(rule.match.prompt) } : {}),
  }));
  const cache = new PromptCacheEstimator();
  return {
    id: `fixture:${file}`,
    defaultModel: fixture.model ?? 'fixture',
    modelFor: (requested) => requested,
    structuredOutput: 'native',
    async complete(request: ModelRequest): Promise<ModelReply> {
      const task = request.messages[0] ? messageText(request.messages[0]) : '';
      const { label = '', phase } = request.agent;
      const found = compiled.find(
        (c) =>
          (c.label === undefined || c.label.test(label)) &&
          (c.rule.match.phase === undefined || c.rule.match.phase === phase) &&
          (c.prompt === undefined || c.prompt.test(task)),
      );
      if (!found) {
        throw new ModelError(
          `no fixture rule matches agent #${request.agent.index} (label "${label}", phase "${phase ?? ''}", ` +
            `prompt "${task.slice(0, 80)}")`,
        );
      }
      const { rule } = found;
      const input = cache.estimate(request);
      await abortableSleep(rule.latencyMs ?? 0, request.signal);
      cache.commit(input.writes);
      // Recorded usage is replayed as it is; otherwise it is estimated, prompt caching included.
      const usage = (text: string) =>
        rule.usage
          ? {
              inputTokens: rule.usage.input,
              outputTokens: rule.usage.output,
              cacheReadTokens: 0,
              cacheWriteTokens: 0,
            }
          : { ...input.usage, outputTokens: estimateTokens(text) };
      const turn = request.messages.filter((m) => m.role === 'assistant').length;
      const step = rule.steps?.[turn];
      if (step) {
        const toolCalls = step.map((call, i) => ({
          id: `fixture_${request.agent.index}_${turn}_${i}`,
          name: call.tool,
          input: call.input,
        }));
        return {
          text: '',
          toolCalls,
          content: toolCalls.map((c) => ({ type: 'tool_use' as const, ...c })),
          usage: usage(JSON.stringify(step)),
          model: request.model,
        };
      }
      if (rule.error !== undefined) throw new ModelError(rule.error);
      const text = rule.text ?? JSON.stringify(rule.result);
      return textReply(text, usage(text), request.model, rule.result);
    },
  };
}
