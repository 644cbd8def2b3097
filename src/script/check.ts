import { tsPlugin } from '@sveltejs/acorn-typescript';
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

/** A problem found in a script, at a 1-based line and column of the script's own text. */
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
}

export interface WorkflowPhase {
  title: string;
  detail?: string;
  model?: string;
}

export interface WorkflowMeta {
  name: string;
  description: string;
  whenToUse?: string;
  phases?: WorkflowPhase[];
  /** The list argument (`files`, say) that may be split across runners (see shard.ts). */
  shard?: string;
  [key: string]: unknown;
}

export type CheckResult =
  | { ok: true; meta: WorkflowMeta; body: string; metaEnd: number; diagnostics: [] }
  | { ok: false; meta?: undefined; diagnostics: Diagnostic[] };

export function formatDiagnostics(file: string, diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => `${file}:${d.line}:${d.column}: ${d.message}`).join('\n');
}

const PARSE_OPTIONS: acorn.Options = {
  ecmaVersion: 'latest',
  sourceType: 'module',
  allowReturnOutsideFunction: true,
  allowAwaitOutsideFunction: true,
  allowHashBang: false,
  locations: true,
};

const TypeScriptParser = acorn.Parser.extend(tsPlugin() as never);

function at(node: acorn.Node, message: string): Diagnostic {
  const loc = node.loc?.start ?? { line: 1, column: 0 };
  return { line: loc.line, column: loc.column + 1, message };
}

function parse(source: string): { program: acorn.Program } | { diagnostic: Diagnostic } {
  try {
    return { program: acorn.parse(source, PARSE_OPTIONS) };
  } catch (error) {
    const err = error as SyntaxError & { loc?: { line: number; column: number } };
    const loc = err.loc ?? { line: 1, column: 0 };
    const reason = err.message.replace(/\s*\(\d+:\d+\)$/, '');
    let message = `syntax error: ${reason}`;
    if (looksLikeTypeScript(source)) {
      message =
        'TypeScript syntax is not supported: workflow scripts are plain JavaScript ' +
        '(remove type annotations, interfaces, generics and `as` casts)';
    }
    return { diagnostic: { line: loc.line, column: loc.column + 1, message } };
  }
}

function looksLikeTypeScript(source: string): boolean {
  try {
    TypeScriptParser.parse(source, PARSE_OPTIONS);
    return true;
  } catch {
    return false;
  }
}

/** Evaluates a node of the meta object as a pure literal, or reports why it is not one. */
function literalValue(node: acorn.Node, problems: Diagnostic[]): unknown {
  const n = node as acorn.AnyNode;
  switch (n.type) {
    case 'Literal':
      if ('regex' in n && n.regex) break;
      if (typeof n.value === 'bigint') break;
      return n.value;
    case 'TemplateLiteral':
      if (n.expressions.length > 0) {
        problems.push(at(n, 'meta must be a pure literal: template literals may not interpolate'));
        return undefined;
      }
      return n.quasis.map((q) => q.value.cooked).join('');
    case 'UnaryExpression':
      if (n.operator === '-' && n.argument.type === 'Literal' && typeof n.argument.value === 'number') {
        return -n.argument.value;
      }
      break;
    case 'ArrayExpression':
      return n.elements.map((el) => {
        if (el === null || el.type === 'SpreadElement') {
          problems.push(at(el ?? n, 'meta must be a pure literal: no holes or spreads in arrays'));
          return undefined;
        }
        return literalValue(el, problems);
      });
    case 'ObjectExpression': {
      const out: Record<string, unknown> = {};
      for (const prop of n.properties) {
        if (prop.type === 'SpreadElement') {
          problems.push(at(prop, 'meta must be a pure literal: no spreads'));
          continue;
        }
        if (prop.computed || prop.kind !== 'init' || prop.method || prop.shorthand) {
          problems.push(
            at(
              prop,
              'meta must be a pure literal: only `key: value` properties (no computed keys, methods, getters or shorthand)',
            ),
          );
          continue;
        }
        const key =
          prop.key.type === 'Identifier'
            ? prop.key.name
            : prop.key.type === 'Literal'
              ? String(prop.key.value)
              : undefined;
        if (key === undefined || key === '__proto__') {
          problems.push(at(prop.key, 'meta must be a pure literal: unsupported property key'));
          continue;
        }
        out[key] = literalValue(prop.value, problems);
      }
      return out;
    }
    default:
      break;
  }
  problems.push(
    at(
      n,
      `meta must be a pure literal: ${n.type} is not allowed (no variables, calls, spreads or interpolation)`,
    ),
  );
  return undefined;
}

function validateMeta(value: Record<string, unknown>, node: acorn.Node, problems: Diagnostic[]): void {
  for (const key of ['name', 'description'] as const) {
    if (typeof value[key] !== 'string' || (value[key] as string).trim() === '') {
      problems.push(at(node, `meta.${key} is required and must be a non-empty string`));
    }
  }
  if (value.whenToUse !== undefined && typeof value.whenToUse !== 'string') {
    problems.push(at(node, 'meta.whenToUse must be a string'));
  }
  if (value.shard !== undefined && (typeof value.shard !== 'string' || value.shard.trim() === '')) {
    problems.push(
      at(
        node,
        "meta.shard must name the list argument that may be split across runners, e.g. shard: 'files'",
      ),
    );
  }
  if (value.phases !== undefined) {
    if (!Array.isArray(value.phases)) {
      problems.push(at(node, 'meta.phases must be an array of { title, detail?, model? }'));
      return;
    }
    value.phases.forEach((phase, i) => {
      const p = phase as Record<string, unknown> | null;
      if (typeof p !== 'object' || p === null || typeof p.title !== 'string') {
        problems.push(at(node, `meta.phases[${i}] must be an object with a string title`));
        return;
      }
      for (const key of ['detail', 'model'] as const) {
        if (p[key] !== undefined && typeof p[key] !== 'string') {
          problems.push(at(node, `meta.phases[${i}].${key} must be a string`));
        }
      }
    });
  }
}

function findMeta(program: acorn.Program, problems: Diagnostic[]): WorkflowMeta | undefined {
  const first = program.body[0];
  const missing =
    'the first statement must be `export const meta = { name: ..., description: ... }` (a pure object literal)';
  if (!first) {
    problems.push({ line: 1, column: 1, message: `empty script: ${missing}` });
    return undefined;
  }
  if (
    first.type !== 'ExportNamedDeclaration' ||
    first.declaration?.type !== 'VariableDeclaration' ||
    first.declaration.kind !== 'const' ||
    first.declaration.declarations.length !== 1
  ) {
    problems.push(at(first, missing));
    return undefined;
  }
  const decl = first.declaration.declarations[0]!;
  if (decl.id.type !== 'Identifier' || decl.id.name !== 'meta') {
    problems.push(at(decl, missing));
    return undefined;
  }
  if (decl.init?.type !== 'ObjectExpression') {
    problems.push(at(decl.init ?? decl, 'meta must be an object literal'));
    return undefined;
  }
  const before = problems.length;
  const value = literalValue(decl.init, problems) as Record<string, unknown>;
  if (problems.length > before) return undefined;
  validateMeta(value, decl.init, problems);
  return problems.length > before ? undefined : (value as WorkflowMeta);
}

function forbiddenSyntax(program: acorn.Program, problems: Diagnostic[]): void {
  program.body.forEach((statement, i) => {
    if (statement.type === 'ImportDeclaration') {
      problems.push(
        at(statement, '`import` is not allowed: workflow scripts have no modules; agents do all I/O'),
      );
    } else if (
      (statement.type === 'ExportNamedDeclaration' && i > 0) ||
      statement.type === 'ExportDefaultDeclaration' ||
      statement.type === 'ExportAllDeclaration'
    ) {
      problems.push(at(statement, 'only `export const meta` may be exported; return the result instead'));
    }
  });
  walk.full(program, (node) => {
    if (node.type === 'ImportExpression') {
      problems.push(
        at(node, '`import()` is not allowed: workflow scripts have no modules; agents do all I/O'),
      );
    } else if (node.type === 'MetaProperty') {
      problems.push(at(node, '`import.meta` is not allowed'));
    } else if (
      node.type === 'CallExpression' &&
      (node as acorn.CallExpression).callee.type === 'Identifier' &&
      ((node as acorn.CallExpression).callee as acorn.Identifier).name === 'require'
    ) {
      problems.push(
        at(node, '`require` is not allowed: workflow scripts have no modules; agents do all I/O'),
      );
    }
  });
}

/**
 * Checks a workflow script before anything runs: syntax (plain JavaScript only), the meta literal,
 * and forbidden module syntax. Every problem carries the script's own line and column.
 */
export function checkScript(source: string): CheckResult {
  const parsed = parse(source);
  if ('diagnostic' in parsed) return { ok: false, diagnostics: [parsed.diagnostic] };
  const problems: Diagnostic[] = [];
  const meta = findMeta(parsed.program, problems);
  forbiddenSyntax(parsed.program, problems);
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (problems.length > 0 || !meta) return { ok: false, diagnostics: problems };
  // The sandbox evaluates the script as a function body: `export` becomes spaces so that every
  // line and column stays where the author wrote it.
  const exportAt = parsed.program.body[0]!.start;
  const body = `${source.slice(0, exportAt)}      ${source.slice(exportAt + 'export'.length)}`;
  return { ok: true, meta, body, metaEnd: parsed.program.body[0]!.end, diagnostics: [] };
}

export class ScriptCheckError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
  ) {
    super(formatDiagnostics(file, diagnostics));
    this.name = 'ScriptCheckError';
  }
}
