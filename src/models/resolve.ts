import { type AnthropicOptions, createAnthropicProvider } from './anthropic.js';
import { createBatchingProvider } from './batch.js';
import { createFixtureProvider } from './fixture.js';
import { createSimProvider, parseSimOptions } from './sim.js';
import { ModelError, type ModelProvider, ZERO_USAGE } from './types.js';

export const MODEL_HELP =
  'models: anthropic:MODEL[?auth=x-api-key&structured=submit-tool&batch=1] (key from ANTHROPIC_API_KEY), ' +
  'sim[?latency=MS&seed=N&items=N&as=MODEL&world=quiet|busy], fixture:FILE';

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

function anthropic(spec: string, { env = process.env, fetch }: ResolveOptions): ModelProvider {
  const [name = '', query = ''] = spec.slice('anthropic:'.length).split('?');
  if (!name) throw new Error('anthropic: needs a model, e.g. anthropic:claude-sonnet-5-5');
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'auth' && key !== 'structured' && key !== 'batch') {
      throw new Error(`unknown anthropic option "${key}" (known: auth, structured, batch)`);
    }
  }
  const batch = params.get('batch') ?? undefined;
  if (batch !== undefined && batch !== '1' && batch !== '0') {
    throw new Error(`anthropic option batch must be 1 (the Message Batches API) or 0, got "${batch}"`);
  }
  const auth = params.get('auth') ?? undefined;
  if (auth !== undefined && auth !== 'bearer' && auth !== 'x-api-key') {
    throw new Error(`anthropic option auth must be bearer or x-api-key, got "${auth}"`);
  }
  const structured = params.get('structured') ?? undefined;
  if (structured !== undefined && structured !== 'native' && structured !== 'submit-tool') {
    throw new Error(`anthropic option structured must be native or submit-tool, got "${structured}"`);
  }
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) {
    throw new Error(
      `${spec} needs an API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint)`,
    );
  }
  const options: AnthropicOptions = {
    model: name,
    apiKey,
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
    ...(auth ? { auth } : {}),
    ...(structured ? { structured } : {}),
    ...(fetch ? { fetch } : {}),
  };
  if (batch === '1') return createBatchingProvider(options);
  // The same model through the Message Batches API, for a scheduled sweep configured with `sweep.batch`.
  return {
    ...createAnthropicProvider(options),
    withBatches: (recording) => createBatchingProvider({ ...options, batch: { ...recording } }),
  };
}

/**
 * The provider of a job that asks no model (the merge of a sharded run): settings need one, and
 * this one refuses every call, so the job needs no model key.
 */
export function noModel(job: string): ModelProvider {
  return {
    id: 'none',
    defaultModel: 'none',
    modelFor: () => 'none',
    structuredOutput: 'native',
    complete: async () => {
      throw new ModelError(`${job} asks no model`, ZERO_USAGE, {
        kind: 'refused',
        reason: 'no model',
        explanation: `${job} has no model key and asks no model`,
      });
    },
  };
}

/** Turns a model name from the command line or config into a provider. */
export function resolveModel(spec: string, options: ResolveOptions = {}): ModelProvider {
  if (spec === 'sim' || spec.startsWith('sim?')) return createSimProvider(parseSimOptions(spec.slice(4)));
  if (spec.startsWith('anthropic:')) return anthropic(spec, options);
  if (spec.startsWith('fixture:')) {
    const file = spec.slice('fixture:'.length);
    if (!file) throw new Error('fixture: needs a file, e.g. fixture:replies.json');
    return createFixtureProvider(file);
  }
  throw new Error(`unknown model "${spec}"; ${MODEL_HELP}`);
}
