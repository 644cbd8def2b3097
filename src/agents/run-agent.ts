import {
  addUsage,
  type ChatMessage,
  type JsonSchema,
  type ModelProvider,
  type Usage,
  ZERO_USAGE,
} from '../models/types.js';
import { validateAnswer } from './schema.js';

export const MAX_SCHEMA_ATTEMPTS = 5;

export interface AgentTask {
  index: number;
  prompt: string;
  label?: string;
  phase?: string;
  model: string;
  effort?: string;
  schema?: JsonSchema;
}

export type AgentOutcome =
  | { status: 'completed'; result: unknown; usage: Usage; attempts: number }
  /** The model call failed for good, or the agent was stopped: the script gets `null`. */
  | { status: 'failed' | 'stopped'; error: string; usage: Usage; attempts: number }
  /** Every attempt failed validation: the script's `agent()` call throws. */
  | { status: 'invalid'; error: string; usage: Usage; attempts: number };

export interface AgentDeps {
  provider: ModelProvider;
  signal: AbortSignal;
  /** Asked before every model call after the first; a reason stops the agent. */
  stopReason(): string | undefined;
  /** Called with each model call's usage as it lands, so budgets see it at once. */
  onUsage(usage: Usage, model: string): void;
}

const PREAMBLE = [
  'You are one agent in an automated workflow run by a script, not a chat.',
  'Nobody will answer questions: decide with what you have and state your assumptions.',
  'Your final answer is data for the script; make it complete and precise.',
].join(' ');

export function systemPrompt(schema: JsonSchema | undefined): string {
  if (!schema) return PREAMBLE;
  return `${PREAMBLE}\nYour final answer must be a single JSON object valid against this JSON Schema, with nothing before or after it:\n${JSON.stringify(schema)}`;
}

/** One subagent in a fresh context: a model call, then corrections until the answer fits the schema. */
export async function runAgent(task: AgentTask, deps: AgentDeps): Promise<AgentOutcome> {
  const system = systemPrompt(task.schema);
  const messages: ChatMessage[] = [{ role: 'user', content: task.prompt }];
  let usage: Usage = ZERO_USAGE;
  let lastError = '';
  for (let attempt = 1; attempt <= MAX_SCHEMA_ATTEMPTS; attempt++) {
    const reason = attempt > 1 ? deps.stopReason() : undefined;
    if (reason) return { status: 'stopped', error: reason, usage, attempts: attempt - 1 };
    if (deps.signal.aborted)
      return { status: 'stopped', error: 'the run was stopped', usage, attempts: attempt - 1 };
    let reply: Awaited<ReturnType<ModelProvider['complete']>>;
    try {
      reply = await deps.provider.complete({
        model: task.model,
        system,
        messages,
        ...(task.schema ? { schema: task.schema } : {}),
        ...(task.effort ? { effort: task.effort } : {}),
        agent: { index: task.index, label: task.label, phase: task.phase, attempt },
        signal: deps.signal,
      });
    } catch (error) {
      const failedUsage = (error as { usage?: Usage }).usage;
      if (failedUsage) {
        usage = addUsage(usage, failedUsage);
        deps.onUsage(failedUsage, task.model);
      }
      const stopped = deps.signal.aborted;
      const message = stopped ? 'the run was stopped' : (error as Error).message || String(error);
      return { status: stopped ? 'stopped' : 'failed', error: message, usage, attempts: attempt };
    }
    usage = addUsage(usage, reply.usage);
    deps.onUsage(reply.usage, reply.model);
    if (!task.schema) return { status: 'completed', result: reply.text, usage, attempts: attempt };
    const checked = validateAnswer(task.schema, reply);
    if (checked.ok) return { status: 'completed', result: checked.value, usage, attempts: attempt };
    lastError = checked.error;
    messages.push(
      { role: 'assistant', content: reply.text },
      {
        role: 'user',
        content: `Your answer does not match the required JSON Schema: ${checked.error}. Reply again with only the corrected JSON object.`,
      },
    );
  }
  return {
    status: 'invalid',
    error: `the agent's answer failed schema validation ${MAX_SCHEMA_ATTEMPTS} times; last error: ${lastError}`,
    usage,
    attempts: MAX_SCHEMA_ATTEMPTS,
  };
}
