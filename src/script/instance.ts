/**
 * A fresh QuickJS instance for one run: its own fixed-size WebAssembly memory and stack limit,
 * over machine code compiled once per process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import type { SandboxLimits } from './limits.js';

const WASM_PAGE = 64 * 1024;

/**
 * QuickJS's WebAssembly, compiled once per process: every sandbox is a fresh instance with its own
 * memory, but the machine code (and V8's optimised tier of it) is shared, instead of compiled again
 * for each run and nested workflow. The file sits in the package, or beside the bundled action;
 * when neither can be read, each instance compiles its own, as the loader does by default.
 */
type CompiledWasm = NonNullable<Parameters<typeof newVariant>[1]['wasmModule']>;
/** `WebAssembly.compile`, which this project's type libraries leave out. */
const compileWasm = (WebAssembly as unknown as { compile(bytes: Uint8Array): Promise<CompiledWasm> }).compile;
let compiled: Promise<CompiledWasm | undefined> | undefined;
function quickjsWasm(): Promise<CompiledWasm | undefined> {
  compiled ??= (async () => {
    const places: Array<() => string | URL> = [
      () => createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm'),
      () => new URL('emscripten-module.wasm', import.meta.url),
    ];
    for (const place of places) {
      try {
        return await compileWasm(readFileSync(place()));
      } catch {
        // the next place, or the loader's own
      }
    }
    return undefined;
  })();
  return compiled;
}

type Instantiate = NonNullable<
  NonNullable<Parameters<typeof newVariant>[1]['emscriptenModule']>['instantiateWasm']
>;
/** `new WebAssembly.Instance`, which this project's type libraries leave out. */
const WasmInstance = (
  WebAssembly as unknown as {
    Instance: new (
      module: CompiledWasm,
      imports: Parameters<Instantiate>[0],
    ) => Parameters<Parameters<Instantiate>[1]>[0];
  }
).Instance;
/**
 * Instantiates the compiled module at once (`new WebAssembly.Instance`), where the loader's own
 * `WebAssembly.instantiate` would wait for a turn of V8's task queue, often behind the garbage
 * collection that a fresh instance's memory has just asked for: a few milliseconds a run.
 */
function instantiator(wasmModule: CompiledWasm): Instantiate {
  return (imports, onSuccess) => {
    const instance = new WasmInstance(wasmModule, imports);
    onSuccess(instance);
    return instance.exports;
  };
}

/** A new runtime and context, capped at the limits' memory and stack. */
export async function newInstance(
  limits: SandboxLimits,
): Promise<{ runtime: QuickJSRuntime; ctx: QuickJSContext }> {
  const pages = Math.ceil(limits.memoryBytes / WASM_PAGE);
  // A fixed-size memory is the only hard cap: QuickJS's own memory limit is not enforced in this build.
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const wasmModule = await quickjsWasm();
  const quickjs = await newQuickJSWASMModuleFromVariant(
    newVariant(releaseSync as unknown as QuickJSSyncVariant, {
      wasmMemory,
      ...(wasmModule ? { emscriptenModule: { instantiateWasm: instantiator(wasmModule) } } : {}),
    }),
  );
  const runtime = quickjs.newRuntime();
  runtime.setMaxStackSize(limits.stackBytes);
  return { runtime, ctx: runtime.newContext() };
}
