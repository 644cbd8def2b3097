#!/usr/bin/env node
// Regenerates test/fixtures/github-routes.json: the part of GitHub's OpenAPI description that
// covers the routes the app calls (methods, paths, request body schemas, documented status codes).
// @octokit/openapi is ~400 MB, so it is fetched into a temporary directory instead of being a
// dependency:   node scripts/extract-github-routes.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VERSION = '23.0.2';
const ROUTES = [
  ['get', '/app'],
  ['post', '/app/installations/{installation_id}/access_tokens'],
  ['get', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  ['post', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  ['post', '/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions'],
  ['get', '/repos/{owner}/{repo}/collaborators/{username}/permission'],
  ['post', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches'],
  ['get', '/repos/{owner}/{repo}/contents/{path}'],
  ['get', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs'],
  ['post', '/repos/{owner}/{repo}/actions/runs/{run_id}/cancel'],
  ['get', '/repos/{owner}/{repo}/issues/comments/{comment_id}'],
  ['patch', '/repos/{owner}/{repo}/issues/comments/{comment_id}'],
  ['post', '/repos/{owner}/{repo}/pulls'],
];

const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
try {
  execFileSync(
    'npm',
    ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, `@octokit/openapi@${VERSION}`],
    {
      stdio: 'inherit',
    },
  );
  const spec = JSON.parse(
    readFileSync(join(dir, 'node_modules/@octokit/openapi/generated/api.github.com.deref.json'), 'utf8'),
  );
  const routes = ROUTES.map(([method, path]) => {
    const operation = spec.paths[path]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI description`);
    const body = operation.requestBody?.content?.['application/json']?.schema;
    return {
      method: method.toUpperCase(),
      path,
      operationId: operation.operationId,
      query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      ...(body ? { requestBody: body } : {}),
      statuses: Object.keys(operation.responses).map(Number),
    };
  });
  const out = new URL('../test/fixtures/github-routes.json', import.meta.url);
  writeFileSync(
    out,
    `${JSON.stringify({ source: `@octokit/openapi@${VERSION} api.github.com.deref.json`, routes }, null, 2)}\n`,
  );
  console.log(`wrote ${routes.length} routes to ${out.pathname}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
