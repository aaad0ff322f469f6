// Tests in a real browser: Debian's chromium driven by playwright-core. Never a downloaded
// browser; .ci/run installs the `chromium` package when it is missing.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.LIVECHAT_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and other things a test leaves to look at: git-ignored, never committed. */
export const ARTIFACTS = resolve(import.meta.dirname, '..', 'test-artifacts');

/** Why the browser tests cannot run on this machine, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (as .ci/run does), or set LIVECHAT_CHROMIUM`;
}

/** Headless chromium with nothing of its own on the network. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}

/** A path under test-artifacts/ (created), for a screenshot to look at after the run. */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export interface BrowserTestContext {
  t: TestContext;
  browser: Browser;
  /** A fresh page whose every wait has a deadline, and that records each request leaving file://. */
  newPage(viewport?: { width: number; height: number }): Promise<Page & { offFileRequests: string[] }>;
}

/**
 * `test()` with a chromium to drive. Skipped, saying why, only when chromium is not installed;
 * a chromium that is there but does not start fails the test.
 */
export function browserTest(name: string, fn: (ctx: BrowserTestContext) => Promise<void>, timeoutMs = 90_000): void {
  test(name, { skip: chromiumMissing(), timeout: timeoutMs }, async (t) => {
    const browser = await launchChromium();
    try {
      await fn({
        t,
        browser,
        async newPage(viewport = { width: 1200, height: 900 }) {
          const page = Object.assign(await browser.newPage({ viewport }), { offFileRequests: [] as string[] });
          page.setDefaultTimeout(10_000);
          page.on('request', (r) => {
            if (!r.url().startsWith('file:')) page.offFileRequests.push(r.url());
          });
          return page;
        },
      });
    } finally {
      await browser.close();
    }
  });
}
