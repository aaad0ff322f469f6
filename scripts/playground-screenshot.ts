// Remakes docs/images/playground.png, the README's picture of `livechat playground`, from the
// built CLI and Debian's chromium (`npm run docs:images`): a hand-off up to the agent's sign-off,
// with an internal note on the desk that the chat never shows.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { chromiumMissing, launchChromium } from '../test/browser.ts';
import { checkImageSize } from './images.ts';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, 'docs', 'images', 'playground.png');

const missing = chromiumMissing();
if (missing) throw new Error(missing);
const child = spawn(process.execPath, [resolve(root, 'bin', 'livechat.js'), 'playground', '--port', '0', '--json'], {
  env: { ...process.env, NO_COLOR: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const info = await new Promise<{ url: string }>((done, fail) => {
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) done(JSON.parse(text.slice(0, text.indexOf('\n'))) as { url: string });
    });
    child.on('exit', () => fail(new Error('livechat playground exited before printing its URL')));
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 740 } });
    page.setDefaultTimeout(10_000);
    await page.goto(info.url);
    await page.locator('body[data-ready=true]').waitFor();
    const say = async (text: string) => {
      await page.fill('#chat input[name=text]', text);
      await page.press('#chat input[name=text]', 'Enter');
    };
    const desk = async (action: string, text?: string) => {
      if (text !== undefined) await page.fill('#desk textarea[name=text]', text);
      await page.click(`#desk button[data-action=${action}]`);
    };
    await say('Where is my order #1042?');
    await page.locator('#chat .choice[data-payload=LIVECHAT_SESSION_START]').click();
    await page.locator('#desk .msg').first().waitFor();
    await desk('reply', "Hi Ada, I'm Grace from support. Let me check order #1042.");
    await page.locator('#chat .line.agent').first().waitFor();
    await say('Thanks! It was due on Monday.');
    await page.locator('#desk .msg[data-kind=customer] .body', { hasText: 'due on Monday' }).waitFor();
    await desk('note', 'Carrier says it is two days late: offer free shipping next time.');
    await page.locator('#desk .msg[data-kind=note]').waitFor();
    await desk('macro');
    await page.locator('#chat .choice[data-payload=LIVECHAT_SESSION_END]').waitFor();
    await page.locator('#desk .msg[data-kind=agent] .body', { hasText: 'LIVECHAT_SESSION_END' }).waitFor();
    await page.screenshot({ path: out });
  } finally {
    await browser.close();
  }
  checkImageSize(out);
} finally {
  child.kill('SIGTERM');
}
