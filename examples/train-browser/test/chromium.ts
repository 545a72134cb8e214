// Headless Chromium for the tests: Debian's /usr/bin/chromium driven by playwright-core (no browser download).
// Without it the tests skip and say why; under CI=true (which installs it) they fail instead.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Site, serveSite } from './serve.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const siteDir = join(import.meta.dirname, '..', 'dist');
export const fixturesDir = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures');

/** Why the browser tests cannot run here, or null when they can. Under CI=true a reason is an error. */
export function missingPrerequisite(): string | null {
  const reason = !existsSync(CHROMIUM)
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : !existsSync(join(siteDir, 'index.html'))
      ? `the site is not built (pnpm --filter @skipnet/example-train-browser build)`
      : null;
  if (reason && process.env['CI'] === 'true') throw new Error(`browser tests cannot run: ${reason}`);
  return reason;
}

/** Chromium's flags for a headless run that reaches nothing outside, with a fresh profile. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** With these, a page on 127.0.0.1 gets a WebGPU adapter (SwiftShader, on the CPU); without them it has none. */
export const SWIFTSHADER_WEBGPU = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
];

export interface Session {
  browser: Browser;
  site: Site;
  close(): Promise<void>;
}

/** Chromium (once per test file) and the built site, the fixtures mounted at /fixtures/. */
export async function startSession(extraFlags: string[] = []): Promise<Session> {
  const site = await serveSite(siteDir, { '/fixtures/': fixturesDir });
  // playwright-core gives each launch a fresh temporary profile.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...extraFlags] });
  return {
    browser,
    site,
    close: async () => {
      await browser.close();
      await site.close();
    },
  };
}

/** A page whose console lines are collected (the pages log every line there too). */
export async function openPage(
  session: Session,
  path: string,
): Promise<{ page: Page; lines: string[]; requests: string[] }> {
  const page = await session.browser.newPage({ acceptDownloads: true });
  const lines: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => lines.push(message.text()));
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  page.on('request', (request) => requests.push(new URL(request.url()).pathname));
  await page.goto(`${session.site.url}${path}`);
  return { page, lines, requests };
}

/** Waits until the page's state is done or error, and returns it. */
export async function finished(page: Page, timeout: number): Promise<string> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), null, {
    timeout,
    polling: 250,
  });
  return page.evaluate(() => document.body.dataset['state'] ?? '');
}
