import type Anthropic from '@anthropic-ai/sdk';
import type { CacheTtl, PromptBlock } from './cache-rules.js';

/**
 * The prompt of a Messages API request as the API bills it: every block in prefix order (tools,
 * the structured-output schema, system, then each message's blocks), each counted from its JSON as
 * sent, with the breakpoints the request carries. The tokenizer is approximated by a characters-
 * per-token ratio (see src/plan/calibration.json); the API adds its own tool-use system prompt when
 * tools are offered, counted as a block of its own at the front.
 */

export interface BillingCalibration {
  charsPerToken: number;
  /** Tokens the API adds to a request that offers tools (its tool-use system prompt). */
  toolUseSystemTokens: number;
  /** Tokens each message's framing costs (role, turn separators). */
  messageOverheadTokens: number;
}

function ttlOf(block: { cache_control?: unknown }): CacheTtl | undefined {
  const control = block.cache_control as { type?: string; ttl?: string } | undefined | null;
  if (!control) return undefined;
  return control.ttl === '1h' ? '1h' : '5m';
}

function counted(block: object, calibration: BillingCalibration, extra = 0): PromptBlock {
  const { cache_control: _drop, ...rest } = block as { cache_control?: unknown };
  const text = JSON.stringify(rest);
  const ttl = ttlOf(block as { cache_control?: unknown });
  return {
    text,
    tokens: Math.ceil(text.length / calibration.charsPerToken) + extra,
    ...(ttl ? { cache: ttl } : {}),
  };
}

/** The blocks of a request, in the order the cache reads them. */
export function promptBlocks(
  params: Anthropic.MessageCreateParamsNonStreaming,
  calibration: BillingCalibration,
): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  const tools = params.tools ?? [];
  if (tools.length > 0)
    blocks.push({ text: 'tool-use system prompt', tokens: calibration.toolUseSystemTokens });
  for (const tool of tools) blocks.push(counted(tool, calibration));
  const format = (params as { output_config?: { format?: unknown } }).output_config?.format;
  if (format) blocks.push(counted({ format }, calibration));
  const system =
    typeof params.system === 'string' ? [{ type: 'text', text: params.system }] : (params.system ?? []);
  for (const block of system) blocks.push(counted(block, calibration));
  for (const message of params.messages) {
    const content =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    content.forEach((block, i) => {
      const overhead = i === 0 ? calibration.messageOverheadTokens : 0;
      blocks.push(counted({ role: message.role, ...block }, calibration, overhead));
    });
  }
  return blocks;
}

/** Output tokens of a reply's content, counted the same way. */
export function outputTokens(content: unknown[], calibration: BillingCalibration): number {
  return content.reduce<number>(
    (sum, block) => sum + Math.ceil(JSON.stringify(block).length / calibration.charsPerToken),
    0,
  );
}
