#!/usr/bin/env node
// Bundles the action's entry into action/dist/index.mjs (one file with its dependencies) and puts
// the QuickJS WebAssembly file beside it, where the bundled loader looks for it.
//   node scripts/build-action.mjs [OUTDIR]
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const outdir = resolve(process.argv[2] ?? join(root, 'action', 'dist'));
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'action', 'index.ts')],
  outfile: join(outdir, 'index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // CommonJS dependencies (js-yaml's and Octokit's transitive ones) may call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
const require = createRequire(import.meta.url);
const wasm = join(
  dirname(require.resolve('@jitl/quickjs-wasmfile-release-sync/package.json')),
  'dist',
  'emscripten-module.wasm',
);
copyFileSync(wasm, join(outdir, 'emscripten-module.wasm'));
console.log(`bundled the action into ${outdir}`);
