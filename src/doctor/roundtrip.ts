// `livechat doctor --roundtrip`: the whole path through Gorgias. A test ticket (external id
// `livechat-doctor-<random>`) gets an internal note through the API; Gorgias calls the
// integration; `serve` says when that message's webhook arrived. The ticket is closed and deleted
// whatever happens: a failure, the timeout, Ctrl-C. The bridge hands the webhooks of these
// tickets to nothing, and an internal note reaches no customer: no real user ever sees it.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { GorgiasClient } from '../gorgias/client.js';
import { GorgiasError } from '../gorgias/errors.js';
import type { NewTicket } from '../gorgias/types.js';
import { placeholderEmail } from '../helpdesk/gorgias.js';
import { DOCTOR_CONVERSATION_PREFIX } from '../protocol.js';
import { INTERNAL_NOTE_CHANNEL } from '../session/types.js';
import { fail, pass, type Check } from './checks.js';

export const DEFAULT_ROUNDTRIP_TIMEOUT_MS = 30_000;
/** How often serve is asked whether the webhook arrived. */
export const POLL_MS = 250;

export type RoundTripClient = Pick<GorgiasClient, 'username' | 'createTicket' | 'createMessage' | 'updateTicket' | 'deleteTicket' | 'listTickets'>;

export interface RoundTripOptions {
  client: RoundTripClient;
  /** Whether serve has the webhook of this message; a string says why it could not tell (kept for the timeout line). */
  arrived(messageId: number): Promise<boolean | string>;
  clock: Clock;
  timeoutMs?: number;
  /** True once the user pressed Ctrl-C: stop waiting, clean up. */
  interrupted(): boolean;
  /** Talk for stderr. */
  progress?(line: string): void;
  /** Default: `livechat-doctor-` and 12 random hex digits. */
  externalId?: string;
}

const DOCTOR_CUSTOMER = 'livechat-doctor';

export function testTicket(externalId: string): NewTicket {
  const email = placeholderEmail(DOCTOR_CUSTOMER);
  return {
    external_id: externalId,
    channel: 'api', // [sure] no auto-reply rule runs on the api channel
    via: 'api',
    subject: 'livechat doctor: round-trip check (deleted at once)',
    // [guess] Created closed, so that it shows in no agent's open view for the second it lives.
    status: 'closed',
    // One customer for every run, found again by Gorgias each time: doctor leaves no new one behind.
    customer: { email, external_id: DOCTOR_CUSTOMER, name: 'livechat doctor' },
    messages: [{ channel: 'api', via: 'api', from_agent: false, sender: { email }, body_text: 'livechat doctor: a test ticket, deleted at once.' }],
  };
}

interface Progress {
  ticketId?: number;
  /** The create got no answer: the ticket may exist all the same. */
  createUnanswered: boolean;
}

/** Close, then delete: every ticket this run may have made, each step tried whatever the other did. */
async function removeTestTicket(client: RoundTripClient, externalId: string, p: Progress): Promise<{ deleted: number[]; problems: string[] }> {
  const problems: string[] = [];
  let ids = p.ticketId === undefined ? [] : [p.ticketId];
  if (p.createUnanswered) {
    try {
      for await (const t of client.listTickets({ external_id: externalId })) ids.push(t.id);
    } catch (err) {
      problems.push(`could not look for ticket ${externalId} (${(err as Error).message})`);
    }
    ids = [...new Set(ids)];
    if (!ids.length && !problems.length) problems.push(`the create got no answer and no ticket ${externalId} shows yet; if one appears, delete it`);
  }
  const deleted: number[] = [];
  for (const id of ids) {
    try {
      await client.updateTicket(id, { status: 'closed' });
    } catch {
      // closing is a courtesy: the delete below is what counts
    }
    try {
      await client.deleteTicket(id);
      deleted.push(id);
    } catch (err) {
      if (err instanceof GorgiasError && err.status === 404) deleted.push(id);
      else problems.push(`test ticket #${id} is left (${(err as Error).message}): delete it in Gorgias`);
    }
  }
  return { deleted, problems };
}

const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const durationOf = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : secondsOf(ms));

export async function roundTrip(o: RoundTripOptions): Promise<Check> {
  const { client, clock } = o;
  const timeoutMs = o.timeoutMs ?? DEFAULT_ROUNDTRIP_TIMEOUT_MS;
  const externalId = o.externalId ?? `${DOCTOR_CONVERSATION_PREFIX}${randomBytes(6).toString('hex')}`;
  const p: Progress = { createUnanswered: false };
  const fixPath = 'see the integration and receiver lines; `livechat webhook status`';

  async function attempt(): Promise<Check> {
    try {
      p.ticketId = (await client.createTicket(testTicket(externalId))).id;
    } catch (err) {
      // An HTTP answer says it was not made; none (a timeout, a reset) leaves it unknown.
      p.createUnanswered = !(err instanceof GorgiasError && err.status !== undefined);
      return fail('roundtrip', `could not open the test ticket (${(err as Error).message})`, 'see the credentials line');
    }
    if (o.interrupted()) return fail('roundtrip', 'interrupted before the test message was sent', 'run it again');
    const sentAt = clock.now();
    let messageId: number;
    try {
      messageId = (
        await client.createMessage(p.ticketId, {
          channel: INTERNAL_NOTE_CHANNEL,
          via: 'api',
          from_agent: true,
          sender: { email: client.username },
          body_text: `livechat doctor: round-trip check ${externalId}`,
        })
      ).id;
    } catch (err) {
      return fail('roundtrip', `could not add the test message to ticket #${p.ticketId} (${(err as Error).message})`, 'see the credentials line');
    }
    const details = { ticket_id: p.ticketId, message_id: messageId, external_id: externalId, timeout_ms: timeoutMs };
    o.progress?.(`round trip: waiting up to ${secondsOf(timeoutMs)} for the webhook of message #${messageId}`);
    const deadline = sentAt + timeoutMs;
    let why: string | undefined;
    for (;;) {
      const seen = await o.arrived(messageId);
      if (seen === true) {
        const ms = clock.now() - sentAt;
        return pass('roundtrip', `the webhook of message #${messageId} reached serve ${durationOf(ms)} after it was sent`, {
          ...details,
          round_trip_ms: ms,
        });
      }
      if (typeof seen === 'string') why = seen;
      if (o.interrupted()) return fail('roundtrip', `interrupted while waiting for the webhook of message #${messageId}`, 'run it again', details);
      const left = deadline - clock.now();
      if (left <= 0) {
        const asked = why ? ` (asking serve: ${why})` : '';
        return fail('roundtrip', `no webhook for message #${messageId} reached serve within ${secondsOf(timeoutMs)}${asked}`, fixPath, details);
      }
      await clock.sleep(Math.min(POLL_MS, left));
    }
  }

  const verdict = await attempt();
  const cleaned = await removeTestTicket(client, externalId, p);
  const details = { ...verdict.details, external_id: externalId, deleted_tickets: cleaned.deleted };
  if (cleaned.problems.length) {
    const fix = verdict.status === 'fail' && verdict.fix ? verdict.fix : 'delete the test ticket in Gorgias';
    return { ...verdict, status: 'fail', message: `${verdict.message}; ${cleaned.problems.join('; ')}`, fix, details };
  }
  const gone = cleaned.deleted.length ? `; test ticket #${cleaned.deleted.join(', #')} deleted` : '';
  return { ...verdict, message: `${verdict.message}${gone}`, details };
}
