// `livechat playground` in one call: the Gorgias emulator, the bridge and the playground's pages on
// one local port, all on one clock that runs in real time and can jump ahead. Routed by path:
//   /api/...           the emulator's REST API (the bridge and the desk both call it over HTTP)
//   /, /desk, /assets  the pages
//   /playground/...    the page's events and actions
//   anything else      the bridge: the Gorgias webhook (/gorgias/webhook), /v1/ channel API, /healthz
// State lives in memory (the bridge's default store): it is gone when the playground stops.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBridge, type Bridge } from '../bridge/index.js';
import { JumpClock, realClock, type Timer } from '../clock.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { applySignoffPlan, planSignoffMacro } from '../macro/ensure.js';
import { DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF, signoffMacroBody } from '../macro/signoff.js';
import { DEFAULT_TIMEOUT_MS, SESSION_END } from '../protocol.js';
import { newSecret } from '../secret.js';
import { conversationView } from '../server/channel.js';
import { listenBridge, WEBHOOK_PATH, type RunningServer } from '../server/index.js';
import type { Logger } from '../server/log.js';
import type { UserMeta } from '../session/types.js';
import { newWebhookToken } from '../webhook/token.js';
import { createChat, type Chat } from './chat.js';
import { createEventHub, type EventHub } from './events.js';
import { createApp } from './http.js';
import type { BridgeView, ClockView, Snapshot } from './web/wire.js';
import { createPages } from './pages.js';

export const DEFAULT_CONVERSATION = 'playground-1';
/** Who the user is: what a channel would pass the bridge, and what the agent sees on the ticket. */
export const DEFAULT_USER: UserMeta = { name: 'Ada Lovelace', email: 'ada@example.com', channel: 'web', page: '/orders/1042' };

export interface PlaygroundOptions {
  port?: number;
  host?: string;
  /** Inactivity timeout of a session. Default 30 minutes. */
  timeoutMs?: number;
  /** The bridge's log. Default: silent. */
  log?: Logger;
  /** One line per emulator API call and webhook. */
  gorgiasLog?: (line: string) => void;
  conversationId?: string;
  user?: UserMeta;
}

export interface Playground {
  url: string;
  emulator: Emulator;
  bridge: Bridge;
  clock: JumpClock;
  chat: Chat;
  /** Fast-forward, as the page's buttons do. */
  jump(ms: number): Promise<ClockView>;
  snapshot(): Promise<Snapshot>;
  /** Wait until what the last action started has played out. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const isApi = (path: string) => path === '/api' || path.startsWith('/api/');

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  const clock = new JumpClock();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const conversationId = options.conversationId ?? DEFAULT_CONVERSATION;
  const hub: EventHub = createEventHub();
  let route: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: RunningServer = await listenBridge(
    (req, res) => {
      if (route) return route(req, res);
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ error: 'starting' }));
    },
    { port: options.port ?? 0, host: options.host ?? '127.0.0.1' },
  );
  const url = server.url;
  let emulator: Emulator | undefined;
  let bridge: Bridge | undefined;
  const stop = async () => {
    hub.close();
    await bridge?.close({ timeoutMs: 2000 });
    await emulator?.close();
    const closed = server.close();
    server.server.closeAllConnections();
    await closed;
    clock.close();
  };

  try {
    const emu = await startEmulator({ clock, mountedAt: url, log: options.gorgiasLog });
    emulator = emu;
    const chat = createChat({
      conversationId,
      user: options.user ?? DEFAULT_USER,
      clock,
      bridge: () => bridge!,
      onEntry(entry) {
        hub.send('chat', entry);
        bridgeSoon();
      },
    });
    const b = await createBridge({
      gorgias: { domain: url, username: emu.email, apiKey: emu.apiKey },
      webhookToken: newWebhookToken(),
      channelSecret: newSecret(),
      deliver: chat.deliver,
      clock,
      timeoutMs,
      log: options.log,
    });
    bridge = b;

    // ---- live state for the page ----------------------------------------------------------------
    const clockView = (): ClockView => ({ now: clock.now(), ahead_ms: clock.aheadMs });
    const bridgeView = async (): Promise<BridgeView> =>
      conversationView(conversationId, await b.manager.read(conversationId), b.manager.timersOf(conversationId)) as unknown as BridgeView;
    let shown = '';
    const pushBridge = async () => {
      const view = await bridgeView();
      const key = JSON.stringify(view);
      if (key === shown) return;
      shown = key;
      hub.send('bridge', view);
    };
    let soon: Timer | undefined;
    /** Push the bridge's state now, and again once the engine has finished what it started. */
    function bridgeSoon(): void {
      if (soon || hub.clients === 0) return;
      soon = realClock.setTimer(20, () => {
        soon = undefined;
        void pushBridge()
          .then(() => b.manager.idle())
          .then(pushBridge)
          .catch(() => {});
      });
    }
    let gorgiasTimer: Timer | undefined;
    /** Gorgias changed (a ticket, a message): the desk reads it again. */
    const gorgiasChanged = () => {
      bridgeSoon();
      if (gorgiasTimer || hub.clients === 0) return;
      gorgiasTimer = realClock.setTimer(20, () => {
        gorgiasTimer = undefined;
        hub.send('gorgias', {});
      });
    };

    const settle = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const before = emu.requests.length + emu.deliveries.length;
        await b.manager.idle();
        await emu.idle({ scheduled: false });
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (emu.requests.length + emu.deliveries.length === before) return;
      }
    };
    const jump = async (ms: number): Promise<ClockView> => {
      await clock.jump(ms, settle);
      hub.send('clock', clockView());
      await pushBridge();
      return clockView();
    };
    const snapshot = async (): Promise<Snapshot> => ({
      config: {
        conversation_id: conversationId,
        user: chat.user,
        gorgias: { api: '/api', email: emu.email, api_key: emu.apiKey },
        signoff_token: SESSION_END,
        timeout_ms: timeoutMs,
        store: 'memory',
      },
      chat: chat.entries(),
      bridge: await bridgeView(),
      clock: clockView(),
    });

    const pages = createPages({ playground: true });
    const app = createApp({ chat, hub, snapshot, jump });
    route = (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (isApi(path)) {
        if (req.method !== 'GET' && req.method !== 'HEAD') res.on('finish', gorgiasChanged);
        return emu.handler(req, res);
      }
      if (path.startsWith('/playground/')) return void app(req, res, path);
      if (pages(req, res)) return;
      res.on('finish', bridgeSoon);
      b.handler(req, res);
    };

    // Install the integration and the sign-off macro exactly as `webhook install` and `macro create` do.
    await b.installWebhook(`${url}${WEBHOOK_PATH}`);
    const body = signoffMacroBody(DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF);
    await applySignoffPlan(b.client, planSignoffMacro(await collect(b.client.listMacros()), body, false), body);

    return { url, emulator: emu, bridge: b, clock, chat, jump, snapshot, settle, close: stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
