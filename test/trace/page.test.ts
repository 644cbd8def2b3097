import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readTranscript } from '../../src/engine/transcript.js';
import { runScript, tempDir } from '../helpers.js';

/**
 * The trace page in a real browser: Debian's chromium driven by playwright-core. Without a
 * Chromium the tests are skipped with a line saying how to enable them.
 */
function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? given : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {}
  }
  return undefined;
}

const executablePath = findChromium();
if (!executablePath) {
  console.log(
    'trace page tests skipped: no Chromium found. Enable them with `apt-get install -y chromium` ' +
      '(Debian/Ubuntu; .ci/run does this) or CHROMIUM_PATH=/path/to/chromium.',
  );
}

/** The pull request's screenshot goes here when DWF_TRACE_SCREENSHOT names a file (docs/images/trace.png). */
const screenshotPath = process.env.DWF_TRACE_SCREENSHOT;

describe.skipIf(!executablePath)('the trace page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: executablePath!, args: ['--no-sandbox'] });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string, width = 1400): Promise<{ page: Page; loadMs: number }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    // The page may load nothing: any request besides the file itself fails the test.
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const began = performance.now();
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('#rows .row[data-index]');
    const loadMs = performance.now() - began;
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    return { page, loadMs };
  }

  test("the demo's run: click the refuted finding's verifier and read its prompt, tool call with output, and answer", async () => {
    const cwd = tempDir();
    let stdout = '';
    const code = await main(['demo', '--runs-dir', 'runs', '--json'], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => true },
      env: { PATH: process.env.PATH },
      cwd,
    });
    expect(code).toBe(0);
    const { runDir } = JSON.parse(stdout) as { runDir: string };
    const { page } = await open(join(runDir, 'trace.html'));

    await expect.poll(() => page.locator('header').textContent()).toContain('completed');
    await expect.poll(() => page.locator('table').textContent()).toContain('Verify');
    await expect.poll(() => page.locator('#left').textContent()).toContain('Test runs (oracle)');
    await page.locator('.row', { hasText: 'verify src/auth.js:10' }).click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.textContent()).toContain('#5 verify src/auth.js:10');
    await expect.poll(() => detail.textContent()).toContain('You are an adversarial reviewer');
    await expect.poll(() => detail.locator('.entry.tool').textContent()).toContain('Tool call: read_file');
    await expect
      .poll(() => detail.locator('.entry.tool pre.output').textContent())
      .toContain('return tokens.get(token);');
    await expect
      .poll(() => detail.locator('.entry.answer').textContent())
      .toContain('No token is compared character by character');
    // The finding's thread: its finder, and the verifier marked refuted.
    await expect.poll(() => detail.locator('.thread').textContent()).toContain('#0 find src/auth.js');
    await expect.poll(() => detail.locator('.thread').textContent()).toContain('refuted');

    // Following a confirmed finding from its verifier to the fix and the re-check.
    await page.locator('.row', { hasText: 'verify src/store.js:25' }).click();
    await detail.locator('.thread a', { hasText: 'fix src/store.js:25' }).click();
    await expect.poll(() => detail.locator('h2').first().textContent()).toBe('#11 fix src/store.js:25');
    await expect.poll(() => detail.locator('.entry.tool').first().textContent()).toContain('read_file');
    await expect.poll(() => detail.textContent()).toContain('Tool call: edit_file');
    await expect.poll(() => detail.textContent()).toContain('Tool call: run_tests');

    // Filters: by status and by text.
    await page.fill('#f-text', 'recheck');
    await expect.poll(() => page.locator('#shown').textContent()).toBe('3 of 16 agents shown');
    await page.fill('#f-text', '');
    await expect.poll(() => page.locator('#shown').textContent()).toBe('16 of 16 agents shown');

    await page.locator('.row', { hasText: 'verify src/store.js:25' }).click();
    const shot = screenshotPath ?? join(cwd, 'trace.png');
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot });
    console.log(`trace page screenshot: ${shot}`);
    await page.close();
  }, 90_000);

  test('a run of 1000 agents: a small page that opens fast and stays usable', async () => {
    const runsDir = tempDir();
    const schema = `{ type: 'object', properties: { confirmed: { type: 'boolean' }, evidence: { type: 'string' } }, required: ['confirmed', 'evidence'] }`;
    const { summary } = await runScript(
      `export const meta = { name: 'big', description: '1000 agents', phases: [{ title: 'Find' }, { title: 'Verify' }] };
      phase('Find');
      const found = await parallel(Array.from({ length: 600 }, (_, i) => () =>
        agent('Look for problems in part ' + i + ' of the code base.', { label: 'find part-' + i, phase: 'Find' })));
      phase('Verify');
      await parallel(Array.from({ length: 400 }, (_, i) => () =>
        agent('Verify the finding about part ' + i + ': ' + found[i], { label: 'verify part-' + i + ':1', phase: 'Verify', schema: ${schema} })));
      return 'ok';`,
      { runsDir, model: 'sim?latency=2', maxAgents: 1000 },
    );
    expect(summary.status).toBe('completed');
    const file = join(summary.runDir, 'trace.html');
    const pageBytes = statSync(file).size;
    const { page, loadMs } = await open(file);
    const readyMs = Number(await page.evaluate('document.body.dataset.readyMs'));
    console.log(
      `1000 agents: trace.html ${Math.round(pageBytes / 1024)} KB; opened and drawn in ${Math.round(loadMs)} ms ` +
        `(its script ${readyMs} ms); transcripts.jsonl ${Math.round(statSync(join(summary.runDir, 'transcripts.jsonl')).size / 1024)} KB`,
    );
    // Loose bounds, so the test stays deterministic on a slow machine; the figures are printed above.
    expect(pageBytes).toBeLessThan(1_500_000);
    expect(loadMs).toBeLessThan(10_000);
    await expect.poll(() => page.locator('#shown').textContent()).toBe('1000 of 1000 agents shown');
    // Virtualised: only the rows in view are in the DOM.
    expect(await page.locator('#rows .row').count()).toBeLessThan(120);

    // Scrolled to the end, the last agents are drawn.
    await page.locator('#rows').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect.poll(() => page.locator('#rows .row', { hasText: 'verify part-399:1' }).count()).toBe(1);

    // Found by the text filter and read.
    await page.fill('#f-text', 'verify part-123:');
    await expect.poll(() => page.locator('#shown').textContent()).toBe('1 of 1000 agents shown');
    await page.locator('.row', { hasText: 'verify part-123:1' }).click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.textContent()).toContain('Verify the finding about part 123');
    await expect.poll(() => detail.locator('.entry.answer').textContent()).toContain('"evidence"');
    const answer = readTranscript(summary.runDir, 723)!.at(-1) as { result: { evidence: string } };
    await expect.poll(() => detail.locator('.entry.answer').textContent()).toContain(answer.result.evidence);
    await expect.poll(() => detail.locator('.thread').textContent()).toContain('find part-123');
    await page.close();
  }, 120_000);

  test('a resumed run: replayed agents are marked, and point at the run that ran them', async () => {
    const runsDir = tempDir();
    const script = (n: number) =>
      `phase('Work'); const out = []; for (let i = 0; i < ${n}; i++) out.push(await agent('step ' + i, { label: 'step ' + i })); return out;`;
    const first = await runScript(script(2), { runsDir });
    const second = await runScript(script(3), { runsDir, resume: first.summary.runId });
    const { page } = await open(join(second.summary.runDir, 'trace.html'));
    expect(await page.locator('#f-status option').allTextContents()).toEqual([
      'all statuses',
      'replayed',
      'done',
    ]);
    await page.locator('.row', { hasText: '#1 step 1' }).click();
    await expect
      .poll(() => page.locator('#detail').textContent())
      .toContain(`Replayed from run ${first.summary.runId} at no cost`);
    await page.locator('.row', { hasText: '#2 step 2' }).click();
    await expect.poll(() => page.locator('#detail .entry.prompt').textContent()).toContain('step 2');
    await page.close();
  }, 60_000);
});
