// `livechat doctor`'s pure parts: the verdicts, the report forms, and the round trip on a fake
// client and a fake clock (the ticket is deleted whatever happens).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import {
  BUDGET_WARN_SHARE,
  budgetCheck,
  CLOCK_FAIL_S,
  CLOCK_WARN_S,
  clockCheck,
  clockSkewMs,
  configCheck,
  fail,
  pass,
  parseCallLimit,
  receiverCheck,
  serveCheck,
  skip,
  warn,
  type Check,
} from '../src/doctor/checks.ts';
import { checkLine, jsonReport, junitReport, xmlText } from '../src/doctor/report.ts';
import { roundTrip, type RoundTripClient } from '../src/doctor/roundtrip.ts';
import { GorgiasError } from '../src/gorgias/errors.ts';
import type { Ticket } from '../src/gorgias/types.ts';
import { parseXml } from './xml.ts';

describe('doctor verdicts', () => {
  it('config: missing, unreadable, readable by others, fine', () => {
    assert.equal(configCheck({ path: '/c.json', exists: false }).status, 'fail');
    assert.equal(configCheck({ path: '/c.json', exists: true, mode: 0o600, error: 'not JSON' }).status, 'fail');
    const open = configCheck({ path: '/c.json', exists: true, mode: 0o100644 });
    assert.equal(open.status, 'fail');
    assert.match(open.message, /mode 0644/);
    assert.equal(open.fix, 'chmod 600 /c.json');
    assert.equal(configCheck({ path: '/c.json', exists: true, mode: 0o100600 }).status, 'pass');
  });

  it("budget: the header read, doctor's own calls taken off, a warning when others use most of it", () => {
    assert.deepEqual(parseCallLimit('10/40'), { used: 10, limit: 40 });
    assert.deepEqual(parseCallLimit(['3 / 80']), { used: 3, limit: 80 });
    for (const bad of [undefined, '', 'ten/40', '1/0', '5']) assert.equal(parseCallLimit(bad), undefined, String(bad));
    assert.equal(budgetCheck(undefined).status, 'warn');
    const limit = 40;
    const edge = limit * BUDGET_WARN_SHARE;
    assert.equal(budgetCheck({ used: edge + 1, limit, ownCalls: 1 }).status, 'pass', 'exactly half by others is not most');
    const most = budgetCheck({ used: edge + 2, limit, ownCalls: 1 });
    assert.equal(most.status, 'warn');
    assert.match(most.message, new RegExp(`other tools use ${edge + 1} of the key's 40 calls`));
    assert.equal(budgetCheck({ used: 1, limit, ownCalls: 3 }).details?.by_others, 0);
  });

  it('clock: the Date header against the local clock, warned and failed beyond the thresholds', () => {
    const at = Date.UTC(2026, 0, 1, 12, 0, 0);
    const date = new Date(at).toUTCString();
    assert.equal(clockSkewMs(date, at + 500), 0);
    assert.equal(clockSkewMs('not a date', at), undefined);
    assert.equal(clockCheck(undefined).status, 'skip');
    assert.equal(clockCheck(0).status, 'pass');
    assert.match(clockCheck(0).message, /within a second/);
    assert.equal(clockCheck(CLOCK_WARN_S * 1000).status, 'pass');
    const ahead = clockCheck((CLOCK_WARN_S + 2) * 1000);
    assert.equal(ahead.status, 'warn');
    assert.match(ahead.message, /12 s ahead of Gorgias/);
    const behind = clockCheck(-(CLOCK_FAIL_S + 1) * 1000);
    assert.equal(behind.status, 'fail');
    assert.match(behind.message, /61 s behind Gorgias/);
  });

  it('receiver: 2xx from the bridge with the token and 401 without, else the first thing wrong', () => {
    const base = 'https://bot.example.com/hook';
    const ok = { status: 200, bridge: true };
    const refused = { status: 401, bridge: false };
    assert.equal(receiverCheck(base, ok, refused).status, 'pass');
    const cases: Array<[Parameters<typeof receiverCheck>[1], Parameters<typeof receiverCheck>[2], RegExp]> = [
      [{ error: 'ECONNREFUSED' }, undefined, /does not answer \(ECONNREFUSED\)/],
      [refused, refused, /refuses the current token/],
      [{ status: 502, bridge: false }, refused, /answered 502/],
      [{ status: 200, bridge: false }, refused, /not as livechat does/],
      [ok, { status: 200, bridge: true }, /answered 200 to a webhook without the token/],
      [ok, { error: 'ECONNRESET' }, /no answer came without it/],
    ];
    for (const [withToken, without, why] of cases) {
      const c = receiverCheck(base, withToken, without);
      assert.equal(c.status, 'fail');
      assert.match(c.message, why);
      assert.ok(c.fix);
    }
  });

  it('serve: ready and taking the secret; not ready; not serve; no secret; a wrong secret; too old', () => {
    const url = 'http://127.0.0.1:8080';
    const ready = { status: 200, bridge: false, body: { ok: true } };
    const ok = { status: 200, bridge: false };
    assert.equal(serveCheck(url, ready, ok).status, 'pass');
    assert.equal(serveCheck(url, { error: 'ECONNREFUSED' }, undefined).status, 'fail');
    assert.equal(serveCheck(url, { status: 503, bridge: false, body: { ok: false } }, ok).status, 'fail');
    assert.equal(serveCheck(url, { status: 200, bridge: false, body: 'hello' }, ok).status, 'fail');
    assert.equal(serveCheck(url, ready, undefined).status, 'warn');
    assert.equal(serveCheck(url, ready, { status: 401, bridge: false }).status, 'fail');
    assert.equal(serveCheck(url, ready, { status: 404, bridge: false }).status, 'warn');
  });
});

describe('doctor reports', () => {
  const checks: Check[] = [
    { ...pass('config', '/c.json is readable, mode 0600'), ms: 1 },
    { ...fail('macro', 'no macro carries LIVECHAT_SESSION_END', '`livechat macro create`'), ms: 12 },
    { ...warn('budget', 'other tools use 30 of 40 <"calls"> & more', 'own key'), ms: 3 },
    { ...skip('roundtrip', 'needs the serve check to pass'), ms: 0 },
    { ...fail('receiver', 'odd bytes: \u0000\u0007\ud800 end', 'fix'), ms: 2 },
  ];

  it('one line per check: the mark, the name, what was found, the fix for failures and warnings', () => {
    assert.deepEqual(
      checks.slice(0, 4).map((c) => checkLine(c)),
      [
        '✓ config       /c.json is readable, mode 0600',
        '✗ macro        no macro carries LIVECHAT_SESSION_END; fix: `livechat macro create`',
        '! budget       other tools use 30 of 40 <"calls"> & more; fix: own key',
        '- roundtrip    needs the serve check to pass',
      ],
    );
  });

  it('JSON: the tally and every check', () => {
    const j = jsonReport(checks) as { ok: boolean; failed: number; checks: Array<{ name: string; status: string; fix: string | null }> };
    assert.equal(j.ok, false);
    assert.equal(j.failed, 2);
    assert.deepEqual(
      j.checks.map((c) => [c.name, c.status]),
      checks.map((c) => [c.name, c.status]),
    );
    assert.equal(j.checks[0].fix, null);
  });

  it('JUnit: valid XML (a strict parser reads it), a testcase per check, failures and skips marked', () => {
    const xml = junitReport(checks, { timestamp: '2026-01-01T00:00:00.000Z', hostname: 'ci' });
    const root = parseXml(xml);
    assert.equal(root.name, 'testsuites');
    assert.equal(root.attrs.tests, '5');
    assert.equal(root.attrs.failures, '2');
    const [suite] = root.children;
    assert.equal(suite.name, 'testsuite');
    assert.equal(suite.attrs.skipped, '1');
    assert.equal(suite.attrs.time, '0.018');
    const cases = suite.children;
    assert.deepEqual(
      cases.map((c) => [c.attrs.name, c.children.map((x) => x.name).join()]),
      [
        ['config', 'system-out'],
        ['macro', 'failure'],
        ['budget', 'system-out'],
        ['roundtrip', 'skipped'],
        ['receiver', 'failure'],
      ],
    );
    assert.equal(cases[1].children[0].text, 'no macro carries LIVECHAT_SESSION_END\nfix: `livechat macro create`');
    assert.equal(cases[2].children[0].text, 'warning: other tools use 30 of 40 <"calls"> & more\nfix: own key');
    assert.equal(cases[4].children[0].attrs.message, 'odd bytes: \ufffd\ufffd\ufffd end');
  });

  it('the strict parser refuses what is not XML', () => {
    for (const bad of [
      '<a>',
      '<a></b>',
      '<a b=c/>',
      '<a b="<"/>',
      '<a>&nope;</a>',
      '<a>x & y</a>',
      '<a/><b/>',
      '<a b="1" b="2"/>',
      '<a>\u0001</a>',
    ]) {
      assert.throws(() => parseXml(bad), Error, bad);
    }
    assert.equal(xmlText('a&b<c>"d\'\u0000'), 'a&amp;b&lt;c&gt;&quot;d&apos;\ufffd');
  });
});

/** A Gorgias that records what the round trip does to tickets. */
function fakeGorgias(options: { createFails?: 'answered' | 'unanswered'; deleteFails?: boolean } = {}) {
  const tickets = new Map<number, { external_id: string; status: string }>();
  const calls: string[] = [];
  let nextId = 1;
  const client: RoundTripClient = {
    username: 'agent@example.com',
    async createTicket(body) {
      calls.push('createTicket');
      const id = nextId++;
      if (options.createFails === 'answered') throw new GorgiasError('Gorgias rejected POST /tickets (400)', { kind: 'validation', status: 400 });
      tickets.set(id, { external_id: body.external_id!, status: body.status ?? 'open' });
      if (options.createFails === 'unanswered') throw new GorgiasError('Gorgias did not answer POST /tickets within 10s', { kind: 'timeout' });
      return { id } as Ticket;
    },
    async createMessage(ticketId) {
      calls.push(`createMessage ${ticketId}`);
      return { id: 100 + ticketId } as never;
    },
    async updateTicket(id, patch) {
      calls.push(`updateTicket ${id} ${JSON.stringify(patch)}`);
      return { id } as Ticket;
    },
    async deleteTicket(id) {
      calls.push(`deleteTicket ${id}`);
      if (options.deleteFails) throw new GorgiasError('Gorgias server error on DELETE /tickets/1 (500)', { kind: 'server', status: 500 });
      tickets.delete(id);
    },
    async *listTickets(q) {
      calls.push(`listTickets ${q.external_id}`);
      for (const [id, t] of tickets) if (t.external_id === q.external_id) yield { id } as Ticket;
    },
  };
  return { client, tickets, calls };
}

/** Run `promise` while moving the fake clock on in steps, until it settles (bounded). */
async function drive<T>(clock: FakeClock, promise: Promise<T>, stepMs = 250): Promise<T> {
  let settled = false;
  void promise.finally(() => (settled = true));
  for (let i = 0; i < 10_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    if (!settled) clock.advance(stepMs);
  }
  assert.ok(settled, 'the round trip settled');
  return promise;
}

describe('doctor round trip (fake Gorgias, fake clock)', () => {
  it('passes when serve reports the message, with the time it took; the ticket is closed and deleted', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias();
    let polls = 0;
    const c = await drive(
      clock,
      roundTrip({ client: g.client, clock, interrupted: () => false, externalId: 'livechat-doctor-t1', arrived: async () => ++polls >= 3 }),
    );
    assert.equal(c.status, 'pass', c.message);
    assert.equal(c.details?.round_trip_ms, 500);
    assert.match(c.message, /message #101 reached serve 500 ms after it was sent; test ticket #1 deleted/);
    assert.deepEqual(g.calls, ['createTicket', 'createMessage 1', 'updateTicket 1 {"status":"closed"}', 'deleteTicket 1']);
    assert.equal(g.tickets.size, 0);
  });

  it('times out, says why serve could not tell, and still deletes the ticket', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias();
    const c = await drive(
      clock,
      roundTrip({
        client: g.client,
        clock,
        timeoutMs: 2000,
        interrupted: () => false,
        externalId: 'livechat-doctor-t2',
        arrived: async () => 'ECONNREFUSED',
      }),
    );
    assert.equal(c.status, 'fail');
    assert.match(c.message, /no webhook for message #101 reached serve within 2\.0 s \(asking serve: ECONNREFUSED\); test ticket #1 deleted/);
    assert.equal(g.tickets.size, 0);
  });

  it('interrupted: stops waiting, deletes the ticket', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias();
    let stop = false;
    let polls = 0;
    const c = await drive(
      clock,
      roundTrip({
        client: g.client,
        clock,
        interrupted: () => stop,
        externalId: 'livechat-doctor-t3',
        arrived: async () => {
          if (++polls === 2) stop = true;
          return false;
        },
      }),
    );
    assert.equal(c.status, 'fail');
    assert.match(c.message, /interrupted while waiting/);
    assert.equal(polls, 2);
    assert.equal(g.tickets.size, 0);
  });

  it('a create that got no answer: the ticket is looked up by its external id and deleted', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias({ createFails: 'unanswered' });
    const c = await drive(
      clock,
      roundTrip({ client: g.client, clock, interrupted: () => false, externalId: 'livechat-doctor-t4', arrived: async () => true }),
    );
    assert.equal(c.status, 'fail');
    assert.match(c.message, /could not open the test ticket .*; test ticket #1 deleted/);
    assert.ok(g.calls.includes('listTickets livechat-doctor-t4'));
    assert.equal(g.tickets.size, 0);
  });

  it('a create refused with an answer made nothing: no lookup, no delete', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias({ createFails: 'answered' });
    const c = await drive(
      clock,
      roundTrip({ client: g.client, clock, interrupted: () => false, externalId: 'livechat-doctor-t5', arrived: async () => true }),
    );
    assert.equal(c.status, 'fail');
    assert.deepEqual(g.calls, ['createTicket']);
  });

  it('a delete that fails turns even a good round trip into a failure that names the ticket left', async () => {
    const clock = new FakeClock();
    const g = fakeGorgias({ deleteFails: true });
    const c = await drive(
      clock,
      roundTrip({ client: g.client, clock, interrupted: () => false, externalId: 'livechat-doctor-t6', arrived: async () => true }),
    );
    assert.equal(c.status, 'fail');
    assert.match(c.message, /reached serve .*; test ticket #1 is left \(.*500.*\): delete it in Gorgias/);
    assert.equal(c.fix, 'delete the test ticket in Gorgias');
  });
});
