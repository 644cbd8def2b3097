import { createFixtureProvider } from './fixture.js';
import { createSimProvider, parseSimOptions } from './sim.js';
import type { ModelProvider } from './types.js';

export const MODEL_HELP = 'models: sim[?latency=MS&seed=N&items=N&as=MODEL], fixture:FILE';

/** Turns a model name from the command line or config into a provider. */
export function resolveModel(spec: string): ModelProvider {
  if (spec === 'sim' || spec.startsWith('sim?')) return createSimProvider(parseSimOptions(spec.slice(4)));
  if (spec.startsWith('fixture:')) {
    const file = spec.slice('fixture:'.length);
    if (!file) throw new Error('fixture: needs a file, e.g. fixture:replies.json');
    return createFixtureProvider(file);
  }
  throw new Error(`unknown model "${spec}"; ${MODEL_HELP}`);
}
