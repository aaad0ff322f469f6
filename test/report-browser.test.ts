// `simulate --report` opened in a real chromium: one lane per party, one arrow per timeline line
// (the `--json` timeline of the same run), the checks, and nothing drawn outside its lane.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { artifact, browserTest } from './browser.ts';
import { runCli } from './helpers.ts';

const PARTIES = ['user', 'bot', 'bridge', 'gorgias', 'agent'];

const dir = mkdtempSync(join(tmpdir(), 'livechat-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface JsonLine {
  kind: string;
  from?: string;
  to?: string;
  fault?: string;
  scenario?: string;
  text?: string;
  buttons?: Array<{ title: string }>;
  checks?: Array<{ name: string; ok: boolean }>;
}

/** Run the real binary with `--report` and `--json`: the page and the timeline of one run. */
async function simulate(name: string, args: string[]): Promise<{ file: string; timeline: JsonLine[]; summary: JsonLine }> {
  const file = join(dir, name);
  const r = await runCli(['simulate', ...args, '--report', file, '--json'], { env: { LIVECHAT_CONFIG_DIR: join(dir, 'cfg') }, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`report written to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonLine);
  return { file, timeline: lines.slice(0, -1), summary: lines.at(-1)! };
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

interface Drawn {
  from: string;
  to: string;
  kind: string;
  fault: string | null;
  section: number;
  arrow: Box;
  label: Box;
  labelOverflowX: number;
}

/** Where every lane and arrow landed on the page. */
async function measure(page: Page) {
  const sections: Array<Array<{ party: string; left: number; right: number; overflowX: number }>> = await page
    .locator('section.scenario')
    .evaluateAll((els) =>
      els.map((s) =>
        [...s.querySelectorAll('.lanes .lane')].map((l) => {
          const r = l.getBoundingClientRect();
          return { party: l.getAttribute('data-party'), left: r.left, right: r.right, overflowX: l.scrollWidth - l.clientWidth };
        }),
      ),
    );
  const rows: Drawn[] = await page.locator('.row.entry').evaluateAll((els) =>
    els.map((row) => {
      const arrow = row.querySelector('.arrow').getBoundingClientRect();
      const labelEl = row.querySelector('.label');
      const label = labelEl.getBoundingClientRect();
      const section = [...row.ownerDocument.querySelectorAll('section.scenario')].indexOf(row.closest('section.scenario'));
      return {
        from: row.getAttribute('data-from'),
        to: row.getAttribute('data-to'),
        kind: row.getAttribute('data-kind'),
        fault: row.getAttribute('data-fault'),
        section,
        arrow: { left: arrow.left, right: arrow.right, top: arrow.top, bottom: arrow.bottom },
        label: { left: label.left, right: label.right, top: label.top, bottom: label.bottom },
        labelOverflowX: Math.max(...[labelEl, ...labelEl.children].map((el) => el.scrollWidth - el.clientWidth)),
      };
    }),
  );
  const whole: { scrollWidth: number; clientWidth: number } = await page
    .locator('html')
    .evaluate((el) => ({ scrollWidth: el.scrollWidth, clientWidth: el.clientWidth }));
  return { sections, rows, page: whole };
}

/** Each arrow runs from the centre of its sender's lane to the centre of its receiver's, and its words stay between them. */
function assertInLanes(m: Awaited<ReturnType<typeof measure>>): void {
  assert.ok(m.page.scrollWidth <= m.page.clientWidth, `the page scrolls sideways: ${m.page.scrollWidth} > ${m.page.clientWidth}`);
  for (const lanes of m.sections) {
    assert.deepEqual(
      lanes.map((l) => l.party),
      PARTIES,
    );
    for (const l of lanes) assert.ok(l.overflowX <= 0, `lane header ${l.party} overflows`);
  }
  m.rows.forEach((r, i) => {
    const lanes = m.sections[r.section];
    const centre = (party: string) => {
      const l = lanes.find((x) => x.party === party)!;
      return (l.left + l.right) / 2;
    };
    const [lo, hi] = [centre(r.from), centre(r.to)].sort((a, b) => a - b);
    const what = `row ${i} ${r.from} → ${r.to}`;
    assert.ok(
      Math.abs(r.arrow.left - lo) <= 2 && Math.abs(r.arrow.right - hi) <= 2,
      `${what}: arrow ${r.arrow.left}-${r.arrow.right}, lanes ${lo}-${hi}`,
    );
    assert.ok(r.label.left >= r.arrow.left - 1 && r.label.right <= r.arrow.right + 1, `${what}: label overflows its lanes`);
    assert.ok(r.labelOverflowX <= 0, `${what}: label text overflows sideways`);
    assert.ok(r.label.bottom <= r.arrow.bottom + 1 && r.label.top >= r.arrow.top - 1, `${what}: label outside its row`);
  });
}

async function open(ctx: { newPage: () => Promise<Page & { offFileRequests: string[] }> }, file: string) {
  const page = await ctx.newPage();
  await page.goto(pathToFileURL(file).href);
  return page;
}

browserTest('the report of a default run: one lane per party, one arrow per timeline line, the checks, nothing out of its lane', async (ctx) => {
  const { file, timeline, summary } = await simulate('run.html', []);
  const page = await open(ctx, file);
  const m = await measure(page);

  // One diagram for the setup and one per scenario, each with the five lanes.
  assert.deepEqual(await page.locator('section.scenario').evaluateAll((els) => els.map((s) => s.getAttribute('data-scenario'))), [
    ...new Set(timeline.map((l) => l.scenario)),
  ]);
  assert.equal(m.rows.length, timeline.length, `the report draws ${m.rows.length} arrows for ${timeline.length} timeline lines`);
  assert.deepEqual(
    m.rows.map((r) => [r.from, r.to, r.kind]),
    timeline.map((l) => [l.from, l.to, l.kind]),
  );
  assertInLanes(m);

  // Buttons shown to the user are never cut off with a long text.
  const buttons = await page.locator('.row.entry').evaluateAll((els) =>
    els.map((row) => {
      const label = row.querySelector('.label').getBoundingClientRect();
      return [...row.querySelectorAll('.btn')].map((b) => {
        const r = b.getBoundingClientRect();
        return { title: b.textContent, shown: r.height > 0 && r.top >= label.top && r.bottom <= label.bottom + 1 };
      });
    }),
  );
  assert.deepEqual(
    buttons,
    timeline.map((l) => (l.buttons ?? []).map((b) => ({ title: b.title, shown: true }))),
  );
  assert.ok(buttons.flat().length >= 4);

  // The checks, with their results.
  const checks = await page
    .locator('.check')
    .evaluateAll((els) => els.map((c) => [c.querySelector('.name')!.textContent, c.getAttribute('data-ok')]));
  assert.deepEqual(
    checks,
    summary.checks!.map((c) => [c.name, String(c.ok)]),
  );
  assert.equal(await page.locator('.verdict').textContent(), `all ${summary.checks!.length} checks passed`);

  // The 30 minutes before the expiry are drawn as gaps, the last one saying so.
  const gaps = await page.locator('section[data-scenario=expiry] .gap').allTextContents();
  assert.ok(gaps.length >= 2, gaps.join(' | '));
  assert.match(gaps.at(-1)!, /of silence \(fast-forwarded\) · nobody wrote for 30 min/);

  assert.deepEqual(page.offFileRequests, [], 'the report fetched something');
  await page.screenshot({ path: artifact('report.png'), fullPage: true });
});

browserTest('the report of a --faults run marks each fault where it happened', async (ctx) => {
  const { file, timeline } = await simulate('faults.html', ['--faults', '--seed', '7']);
  const page = await open(ctx, file);
  const m = await measure(page);
  assert.equal(m.rows.length, timeline.length);
  assert.deepEqual(
    m.rows.map((r) => r.fault),
    timeline.map((l) => l.fault ?? null),
  );
  const faults = new Set(m.rows.map((r) => r.fault));
  for (const f of ['injected', 'dropped', 'late', 'rate-limited', 'retry']) assert.ok(faults.has(f), `no ${f} fault drawn`);
  // A dropped webhook never reaches the bridge: its line stops short, crossed out.
  const dropped = page.locator('.row[data-fault=dropped]').first();
  assert.equal(await dropped.locator('.fault-tag').textContent(), '⚠ dropped');
  assert.equal(await dropped.locator('line').getAttribute('x2'), '30%');
  assertInLanes(m);
  assert.deepEqual(page.offFileRequests, []);
  await page.screenshot({ path: artifact('report-faults.png'), fullPage: true });
});

browserTest('hostile text in a scenario stays text, and long words wrap inside their lanes', async (ctx) => {
  const hostile = '<script>document.title="pwned"</script><img src=x onerror="document.title=1"> ; # %% &amp;';
  const long = `${'w'.repeat(600)} ${'end'.repeat(50)}`;
  const scenario = join(dir, 'hostile.json');
  writeFileSync(
    scenario,
    JSON.stringify({
      name: 'hostile <b>',
      conversation: 'conv-<i>x</i>',
      user: { name: '<script>alert(1)</script>', email: 'eve@example.com' },
      steps: [{ user: hostile }, { payload: 'LIVECHAT_SESSION_START' }, { agent: hostile }, { agent: long }, { macro: true }, { press: 'End chat' }],
    }),
  );
  const { file, timeline } = await simulate('hostile.html', ['--scenario', scenario]);
  const page = await open(ctx, file);
  assert.equal(await page.locator('script, img, .label b, .label i, h2 b, h2 i').count(), 0);
  assert.notEqual(await page.title(), 'pwned');
  const shown = await page.locator('.row.entry[data-from=agent] .label q').first().textContent();
  assert.equal(shown, hostile);
  const m = await measure(page);
  assert.equal(m.rows.length, timeline.length);
  assertInLanes(m);
  await page.screenshot({ path: artifact('report-hostile.png'), fullPage: true });
});

browserTest('a load run gets a summary page: throughput, a latency chart that fits, the checks', async (ctx) => {
  const { file, summary } = await simulate('load.html', ['--sessions', '20', '--concurrency', '5']);
  const page = await open(ctx, file);
  assert.equal(await page.locator('section.scenario').count(), 0);
  assert.match((await page.locator('table.numbers').textContent())!, /20, 5 at a time.*conversations\/s/);
  const chart = (await page.locator('svg.chart').boundingBox())!;
  const bars = await page.locator('svg.chart g.bar').evaluateAll((els) =>
    els.map((g) => {
      const r = g.getBoundingClientRect();
      return { label: g.getAttribute('data-label'), left: r.left, right: r.right };
    }),
  );
  assert.deepEqual(
    bars.map((b) => b.label),
    ['relay p50', 'relay p99', 'relay max', 'end to end p50', 'end to end p99', 'end to end max'],
  );
  for (const b of bars) assert.ok(b.left >= chart.x - 1 && b.right <= chart.x + chart.width + 1, `${b.label} is outside the chart`);
  assert.equal(await page.locator('.check').count(), summary.checks!.length);
  assert.deepEqual(page.offFileRequests, []);
  await page.screenshot({ path: artifact('report-load.png'), fullPage: true });
});
