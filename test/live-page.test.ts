import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, launchBrowser } from './support/browser.js';
import type { GatewayConfig } from '../src/config.js';
import { testScenario, QUOTA_ERROR } from '../src/sources/docspace/scenarios.js';
import { startDocSpaceSimulator, type DocSpaceSimulator } from '../src/sources/docspace/simulator.js';
import { KINDS } from '../src/sources/kinds.js';
import { startGateway, type TestGateway } from './support/gateway.js';

/**
 * The live progress page at `/` as an operator sees it: Debian's Chromium (headless, through
 * playwright-core, offline) over a demo-like world — the four kinds' demo simulators on a real-time
 * clock — plus one more DocSpace portal ("docspace-quota", the vendor's test scenario on a real-time
 * clock with short tasks) whose backups the test starts and fails on purpose. The page gets its
 * data only from /graphql (queries, and operationsChanged over SSE). Needs /usr/bin/chromium.
 */

const QUOTA_KEY = 'sk-live-page-test-key-0123456789';
const VENDORS = ['AIVEN', 'AEROSPIKE_BACKUP_SERVICE', 'SCALETRADE', 'DOCSPACE'];
/** The README's screenshot is refreshed only on request (UPDATE_SCREENSHOT=1), so a test run leaves the tree clean. */
const SCREENSHOT = process.env['UPDATE_SCREENSHOT'] ? new URL('../docs/live-page.png', import.meta.url) : new URL(`file://${join(tmpdir(), `backupgraph-live-page-${process.pid}.png`)}`);

type Upstream = { close(): Promise<void>; source(name: string): unknown };

let upstreams: Array<{ kind: string; sim: Upstream }>;
let quota: DocSpaceSimulator;
let tg: TestGateway;
let browser: Browser;

function quotaSource(): GatewayConfig['sources'][number] {
  return {
    name: 'docspace-quota',
    kind: 'docspace',
    baseUrl: quota.url,
    token: QUOTA_KEY,
    tokenScheme: 'bearer',
    poll: { activeMs: 200, idleMs: 300 },
    timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 },
  } as GatewayConfig['sources'][number];
}

beforeAll(async () => {
  upstreams = await Promise.all(KINDS.map(async (kind) => ({ kind: kind.kind, sim: (await kind.simulate({ scenario: 'demo', clock: 'realtime' })) as Upstream })));
  quota = await startDocSpaceSimulator({
    scenario: { ...testScenario(), apiKeys: [QUOTA_KEY], durations: { backupMs: 3_000, restoreMs: 3_000, transferMs: 3_000 }, createdMs: 200 },
    clock: 'realtime',
  });
  tg = await startGateway({
    sources: [...upstreams.map(({ kind, sim }) => sim.source(`${kind}-demo`)), quotaSource()] as GatewayConfig['sources'],
    prefix: 'backupgraph-live-page-',
    upstream: { close: async () => void (await Promise.all([...upstreams.map(({ sim }) => sim.close()), quota.close()])) },
  });
  // restart() listens again on the same port, as a restarted gateway would: the open page reconnects there.
  tg.config.listen.port = tg.gateway.port;
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await tg?.close();
});


function root(): string {
  return tg.gateway.url.replace(/graphql$/, '');
}

/** A browser context that records every request, page error and CSP complaint. */
async function open(context: BrowserContext, path = '/'): Promise<{ page: Page; requested: string[]; errors: string[]; sse: () => number }> {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const requested: string[] = [];
  const errors: string[] = [];
  let sse = 0;
  page.on('request', (request) => {
    requested.push(request.url());
    if (request.method() === 'POST' && (request.headers()['accept'] ?? '').includes('text/event-stream')) sse += 1;
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) errors.push(message.text());
  });
  await page.goto(new URL(path, root()).href, { waitUntil: 'load', timeout: 20_000 });
  return { page, requested, errors, sse: () => sse };
}

async function startQuotaBackup(): Promise<void> {
  const response = await fetch(`${quota.url}/api/2.0/backup/startbackup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${QUOTA_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ storageType: 0, storageParams: [], dump: false }),
  });
  expect(response.ok).toBe(true);
}

describe('live progress page', () => {
  it('serves the page and its assets with their types and a strict CSP, small', async () => {
    const page = await fetch(root(), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(await page.text()).toContain('/page/app.js');
    const js = await fetch(new URL('/page/app.js', root()));
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const css = await fetch(new URL('/page/app.css', root()));
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const bytes = (await js.arrayBuffer()).byteLength + (await css.arrayBuffer()).byteLength;
    expect(bytes).toBeLessThanOrEqual(100 * 1024);
    // /graphql keeps GraphiQL.
    expect(await (await fetch(tg.gateway.url, { headers: { accept: 'text/html' } })).text()).toMatch(/graphiql/i);
  });

  it('shows every vendor live, bars rise, finished and failed operations, and survives a gateway restart', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
    try {
      const { page, requested, errors, sse } = await open(context);
      await page.locator('#conn[data-state="live"]').waitFor();

      // Operations of every vendor, and the health strip with every source.
      for (const vendor of VENDORS) await page.locator(`#active .op[data-vendor="${vendor}"]`).first().waitFor({ timeout: 15_000 });
      await expect.poll(() => page.locator('#sources li').count()).toBe(5);
      expect(await page.locator('#sources li[data-health="UP"]').count()).toBeGreaterThanOrEqual(1);

      // A bar rises while we watch: a running operation with a value well below 100 gets a higher value.
      const watched = await page.evaluate(() => {
        for (const li of document.querySelectorAll<HTMLElement>('#active .op[data-status="RUNNING"]')) {
          const bar = li.querySelector<HTMLProgressElement>('progress.bar');
          if (bar?.hasAttribute('value') && bar.value < 85) return { id: li.dataset['id']!, value: bar.value };
        }
        return undefined;
      });
      expect(watched).toBeDefined();
      await page.waitForFunction(
        ({ id, value }) => {
          const bar = document.querySelector<HTMLProgressElement>(`#active .op[data-id="${CSS.escape(id)}"] progress.bar`);
          return bar !== null && bar.value > value;
        },
        watched!,
        { timeout: 15_000 },
      );
      // Rate in human units and an ETA on some running operation, e.g. "412 MB/s · ends 14:32, in 6 min".
      await expect.poll(async () => (await page.locator('#active .rate').allTextContents()).some((t) => /\/(s|min)\b.*ends .+, in /.test(t))).toBe(true);

      // An operation that finishes moves to the finished list with SUCCEEDED.
      await startQuotaBackup();
      await page.locator('#active .op[data-source="docspace-quota"]').waitFor({ timeout: 10_000 });
      const succeeded = page.locator('#finished .op[data-source="docspace-quota"][data-status="SUCCEEDED"]');
      await succeeded.first().waitFor({ timeout: 15_000 });
      expect(await page.locator('#active .op[data-source="docspace-quota"]').count()).toBe(0);
      expect(await succeeded.first().locator('.status').textContent()).toBe('SUCCEEDED');

      // A failing one shows FAILED with its message.
      quota.failNextTask('backup', { atPercent: 40 });
      await startQuotaBackup();
      const failed = page.locator('#finished .op[data-source="docspace-quota"][data-status="FAILED"]');
      await failed.first().waitFor({ timeout: 15_000 });
      expect(await failed.first().locator('.message').textContent()).toContain(QUOTA_ERROR);

      // Keyboard: j moves to the first operation, Enter opens its detail with a GraphiQL link holding its query.
      await page.locator('body').press('j');
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('SUMMARY');
      await page.keyboard.press('Enter');
      const link = page.locator('.op details[open] a.gql').first();
      await link.waitFor();
      const href = (await link.getAttribute('href')) ?? '';
      expect(href.startsWith('/graphql?query=')).toBe(true);
      expect(decodeURIComponent(href.slice('/graphql?query='.length))).toMatch(/operation\(id: "[^"]+"\)/);
      await page.keyboard.press('Enter'); // closed again for the screenshot
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await mkdir(new URL('.', SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });

      // Filters live in the URL: only restores now, and the view can be shared.
      await page.selectOption('#f-kind', 'RESTORE');
      expect(new URL(page.url()).searchParams.get('kind')).toBe('RESTORE');
      await expect.poll(async () => (await page.locator('#active .op .kind').allTextContents()).every((k) => k === 'RESTORE')).toBe(true);
      await page.selectOption('#f-kind', '');

      // The gateway restarts: the page reconnects by itself and keeps receiving.
      const before = sse();
      await tg.restart();
      await expect.poll(sse, { timeout: 15_000 }).toBeGreaterThan(before);
      await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
      const succeededBefore = await succeeded.count();
      await startQuotaBackup();
      await expect.poll(() => succeeded.count(), { timeout: 15_000 }).toBeGreaterThan(succeededBefore);
      for (const vendor of VENDORS) await page.locator(`.op[data-vendor="${vendor}"]`).first().waitFor({ timeout: 15_000 });

      expect(requested.filter((url) => !isLoopback(url))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 45_000);

  it('opens a shared view with its filters, and fits a phone in dark mode', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true });
    try {
      const { page, errors } = await open(context, '/?source=docspace-quota&status=SUCCEEDED');
      await page.locator('#conn[data-state="live"]').waitFor();
      await page.locator('#finished .op').first().waitFor();
      expect(await page.inputValue('#f-source')).toBe('docspace-quota');
      expect(await page.inputValue('#f-status')).toBe('SUCCEEDED');
      const shown = await page.locator('#finished .op').evaluateAll((els) => els.map((el) => `${(el as HTMLElement).dataset['source']}/${(el as HTMLElement).dataset['status']}`));
      expect(new Set(shown)).toEqual(new Set(['docspace-quota/SUCCEEDED']));
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe('rgb(13, 17, 23)');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('with API keys: asks for a key once, refuses a wrong one, works with the right one, never puts it in a URL', async () => {
    const KEY = 'live-page-viewer-key-0123456789abcdef';
    const secured = await startGateway({ sources: [quotaSource()], auth: { keys: [{ key: KEY, role: 'viewer' }], anonymousRole: 'none' }, prefix: 'backupgraph-live-page-auth-' });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const requested: string[] = [];
      const authorized: string[] = [];
      page.on('request', (request) => {
        requested.push(request.url());
        const auth = request.headers()['authorization'];
        if (auth) authorized.push(auth);
      });
      await page.goto(secured.gateway.url.replace(/graphql$/, ''), { waitUntil: 'load' });
      await page.locator('#auth-key').waitFor({ state: 'visible' });
      expect(await page.locator('#conn').getAttribute('data-state')).toBe('auth');

      await page.fill('#auth-key', 'not-the-right-key-0000000000');
      await page.press('#auth-key', 'Enter');
      await expect.poll(() => page.locator('#auth-error').textContent()).toMatch(/refused/);
      expect(await page.locator('#auth').isVisible()).toBe(true);

      await page.fill('#auth-key', KEY);
      await page.click('#auth-form button');
      await page.locator('#conn[data-state="live"]').waitFor();
      await page.locator('#sources li[data-source="docspace-quota"]').waitFor();
      expect(await page.locator('#auth').isVisible()).toBe(false);
      expect(authorized).toContain(`Bearer ${KEY}`);
      expect(await page.evaluate(() => sessionStorage.getItem('backupgraph.apiKey'))).toBe(KEY);

      // Once: a reload keeps the key for this tab.
      await page.reload({ waitUntil: 'load' });
      await page.locator('#conn[data-state="live"]').waitFor();
      expect(await page.locator('#auth').isVisible()).toBe(false);

      expect(requested.filter((url) => url.includes(KEY) || url.includes('not-the-right-key'))).toEqual([]);
      expect(requested.filter((url) => !isLoopback(url))).toEqual([]);
    } finally {
      await context.close();
      await secured.close();
    }
  });

  it('wrote the screenshot', () => {
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });
});
