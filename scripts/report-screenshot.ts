// Remakes docs/images/report.png, the README's picture of `simulate --report`, from the built CLI
// and Debian's chromium: `npm run docs:images`. Kept small: the top of a default run's report.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromiumMissing, launchChromium } from '../test/browser.ts';
import { checkImageSize } from './images.ts';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, 'docs', 'images', 'report.png');

const missing = chromiumMissing();
if (missing) throw new Error(missing);
const dir = mkdtempSync(join(tmpdir(), 'livechat-docs-'));
try {
  const report = join(dir, 'run.html');
  execFileSync(process.execPath, [resolve(root, 'bin', 'livechat.js'), 'simulate', '--report', report], {
    env: { ...process.env, NO_COLOR: '1', LIVECHAT_CONFIG_DIR: join(dir, 'cfg') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 1300 } });
    await page.goto(pathToFileURL(report).href);
    await page.screenshot({ path: out });
  } finally {
    await browser.close();
  }
  checkImageSize(out);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
