// The whole bridge in one call: the Gorgias client and its port, the engine on a store, the
// outbox to the deliver URL, and the HTTP server (channel API, webhook receiver, health, metrics).
// `livechat serve` runs this; a bot can embed it the same way.
import { createCallBudget, type BudgetOptions, type CallBudget } from '../budget/budget.js';
import { realClock, type Clock } from '../clock.js';
import { createGorgiasClient, type GorgiasClient } from '../gorgias/client.js';
import { gorgiasHelpdesk } from '../helpdesk/gorgias.js';
import { httpDelivery } from '../outbox/http.js';
import { createBridgeHandler, listenBridge, type RequestHandler, type RunningServer } from '../server/index.js';
import { silentLogger, type Logger } from '../server/log.js';
import type { BridgeMetrics } from '../server/metrics.js';
import {
  createSessionManager,
  type Deliver,
  type ReportEntry,
  type SessionManager,
  type SessionManagerOptions,
  type Submitted,
} from '../session/manager.js';
import { memoryStore, type SessionStore } from '../session/store.js';
import type { UserMeta } from '../session/types.js';
import { desiredIntegration } from '../webhook/integration.js';
import { applyInstall, planInstall } from '../webhook/install.js';

export interface GorgiasCredentials {
  /** `acme`, `acme.gorgias.com`, or a full URL (the emulator). */
  domain: string;
  username: string;
  apiKey: string;
}

export interface BridgeOptions extends Pick<
  SessionManagerOptions,
  | 'timeoutMs'
  | 'historySize'
  | 'retry'
  | 'retryClock'
  | 'catchUpMs'
  | 'catchUpMaxMs'
  | 'reorderWindowMs'
  | 'cacheSize'
  | 'retentionMs'
  | 'catchUpOnStart'
  | 'instance'
  | 'leaseMs'
  | 'pollMs'
> {
  /** How to reach Gorgias; or pass `client`. */
  gorgias?: GorgiasCredentials;
  client?: GorgiasClient;
  /** The secret the webhook URL (or header) carries. */
  webhookToken: string;
  /** Authenticates channel calls and signs deliveries. */
  channelSecret: string;
  /** Where deliveries are POSTed (signed); or pass `deliver`. */
  deliverUrl?: string;
  deliver?: Deliver;
  /** Default: in memory. `openSqliteStore(path)` (livechat/sqlite) survives restarts. */
  store?: SessionStore;
  clock?: Clock;
  log?: Logger;
  metrics?: BridgeMetrics;
  /** Gorgias calls time out after this long (each try). Default 5 s, so a user hears of an outage within about 15 s. */
  callTimeoutMs?: number;
  /**
   * The key's call budget: its limit (default 40 calls per 20 s) and the share of it this bridge
   * uses (default 0.8, leaving the rest to other tools on the key). Or pass a `CallBudget` that
   * other clients of the same key share. Ignored when `client` is given (the client has its own gate).
   */
  callBudget?: Omit<BudgetOptions, 'clock'> | CallBudget;
}

export interface Bridge {
  manager: SessionManager;
  client: GorgiasClient;
  /** Every call to Gorgias takes a slot from it (undefined when a `client` was passed in). */
  budget?: CallBudget;
  /** What the user wrote: `routed: 'bot'` means give it to your bot; `'livechat'`, the bridge took it. */
  userMessage(conversationId: string, text: string, user?: UserMeta): Promise<Submitted>;
  /** A button the user pressed (LIVECHAT_SESSION_START, LIVECHAT_SESSION_END, or your bot's own). */
  userPayload(conversationId: string, payload: string, user?: UserMeta): Promise<Submitted>;
  /** What your bot said, so the agent sees the recent conversation on the hand-off. */
  botSaid(conversationId: string, text: string): Promise<void>;
  /** Create or update the Gorgias HTTP integration that calls `webhookUrl` (what `livechat webhook install` does). */
  installWebhook(webhookUrl: string): Promise<{ action: 'created' | 'updated' | 'unchanged'; id: number }>;
  /** The node http handler: mount it in your own server, or call `listen`. */
  handler: RequestHandler;
  listen(port?: number, host?: string): Promise<RunningServer>;
  /** Stop taking requests, let work in flight finish (at most `timeoutMs`), close the store. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5000;
export const DEFAULT_SHUTDOWN_MS = 10_000;

export async function createBridge(options: BridgeOptions): Promise<Bridge> {
  const clock = options.clock ?? realClock;
  const log = options.log ?? silentLogger;
  const metrics = options.metrics;
  const store = options.store ?? memoryStore();
  if (!options.client && !options.gorgias) throw new Error('createBridge needs `gorgias` credentials or a `client`');
  if (!options.deliver && !options.deliverUrl) throw new Error('createBridge needs a `deliverUrl` or a `deliver` function');
  // One budget for every call of this key: hand-offs and messages first, catch-ups last.
  const given = options.callBudget;
  const ownBudget = !options.client && !isBudget(given);
  const budget = options.client ? undefined : isBudget(given) ? given : createCallBudget({ ...given, clock });
  // One owner for retries: the engine. The client makes one try per call and reports 429s to it.
  const client =
    options.client ??
    createGorgiasClient({
      ...options.gorgias!,
      clock,
      timeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      maxRetries: 0,
      maxRateLimitWaits: 0,
      gate: budget,
      debug: (line) => log.debug(line),
      onCall: (call) => metrics?.gorgiasCall(String(call.status)),
    });
  const deliver: Deliver =
    options.deliver ??
    (() => {
      const post = httpDelivery({ url: options.deliverUrl!, secret: options.channelSecret, clock });
      return async (d) => {
        try {
          await post(d);
          metrics?.delivery('ok');
        } catch (err) {
          metrics?.delivery('retried');
          throw err;
        }
      };
    })();
  const report = (e: ReportEntry) => {
    const fields = { conversation: e.conversationId, kind: e.kind, detail: e.detail };
    if (e.kind === 'error') log.warn(e.detail, { conversation: e.conversationId });
    else log.debug(e.kind, fields);
  };
  const manager = createSessionManager({
    ...options,
    clock,
    store,
    deliver,
    botRoutedToCaller: true,
    helpdesk: gorgiasHelpdesk(client, { timeoutMs: options.timeoutMs }),
    sinks: {
      report,
      trace(t) {
        if (t.call === 'listMessagesSince' && t.phase === 'request') metrics?.catchUp();
        if (t.phase === 'retry' || t.phase === 'error') log.warn(`gorgias ${t.call} ${t.phase}: ${t.detail}`, { conversation: t.conversationId });
      },
    },
  });
  let stopping = false;
  const running: RunningServer[] = [];
  const handler = createBridgeHandler({
    manager,
    webhookToken: options.webhookToken,
    channelSecret: options.channelSecret,
    log,
    metrics,
    clock,
    ready: async () => !stopping && (store.healthy ? await store.healthy() : true),
  });
  await manager.start();
  return {
    manager,
    client,
    budget,
    handler,
    userMessage: (id, text, user) => manager.submit(id, { kind: 'userText', text, user }),
    userPayload: (id, payload, user) => manager.submit(id, { kind: 'userPayload', payload, user }),
    botSaid: async (id, text) => void (await manager.submit(id, { kind: 'botText', text })),
    async installWebhook(webhookUrl) {
      const desired = desiredIntegration(webhookUrl, options.webhookToken);
      const all = [];
      for await (const i of client.listIntegrations()) all.push(i);
      const done = await applyInstall(client, planInstall(all, desired), desired);
      return { action: done.action, id: done.integration.id };
    },
    async listen(port = 0, host = '127.0.0.1') {
      const server = await listenBridge(handler, { port, host });
      running.push(server);
      return server;
    },
    async close(closeOptions = {}) {
      if (stopping) return;
      stopping = true;
      const closing = Promise.all(running.map((s) => s.close()));
      let timer: ReturnType<Clock['setTimer']> | undefined;
      const bound = new Promise<void>((resolve) => (timer = realClock.setTimer(closeOptions.timeoutMs ?? DEFAULT_SHUTDOWN_MS, resolve)));
      await Promise.race([Promise.all([closing, manager.idle()]), bound]);
      timer?.cancel();
      manager.close();
      if (ownBudget) budget?.close();
      for (const s of running) s.server.closeAllConnections();
      await store.close();
    },
  };
}

function isBudget(b: BridgeOptions['callBudget']): b is CallBudget {
  return typeof (b as CallBudget | undefined)?.take === 'function';
}
