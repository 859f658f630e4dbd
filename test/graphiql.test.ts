import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, launchBrowser } from './support/browser.js';
import { startWorld, type World } from './support/harness.js';

/**
 * GraphiQL as a person sees it: Debian's Chromium (headless, driven by playwright-core) opens the
 * gateway's page, which must work offline (everything inlined, no CDN), and runs a query.
 * Needs /usr/bin/chromium (`apt-get install -y chromium`).
 */

const QUERY = '{ sources { name kind health { status } } }';

let world: World;
let browser: Browser;

beforeAll(async () => {
  world = await startWorld();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await world?.close();
});


describe('GraphiQL', () => {
  it('serves an HTML page to a browser GET', async () => {
    const response = await fetch(world.gateway.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it('loads offline, makes loopback requests only, and runs a query from ?query=', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    try {
      const response = await page.goto(`${world.gateway.url}?query=${encodeURIComponent(QUERY)}`, { waitUntil: 'load', timeout: 20_000 });
      expect(response?.status()).toBe(200);

      const run = page.locator('.graphiql-execute-button');
      await run.waitFor({ state: 'visible', timeout: 15_000 });
      // The query editor holds the query from the URL (Monaco renders spaces as U+00A0).
      await page.waitForFunction(
        () => (document.querySelector('.graphiql-query-editor')?.textContent ?? '').replace(/\u00a0/g, ' ').includes('sources'),
        undefined,
        { timeout: 15_000 },
      );
      await run.click();

      const result = page.locator('.graphiql-response');
      await page.waitForFunction(
        () => (document.querySelector('.graphiql-response')?.textContent ?? '').includes('aiven-test'),
        undefined,
        { timeout: 15_000 },
      );
      const text = ((await result.textContent()) ?? '').replace(/\u00a0/g, ' ');
      expect(text).toContain('"name": "aiven-test"');
      expect(text).toContain('"kind": "AIVEN"');
      expect(text).not.toContain('"errors"');

      // The page itself and the POSTs (introspection, the query) went to the gateway.
      expect(requested.filter((url) => url === world.gateway.url).length).toBeGreaterThanOrEqual(1);
      const outside = requested.filter((url) => !isLoopback(url));
      expect(outside).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
