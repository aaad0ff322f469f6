// The library: everything a bot needs to embed the bridge, and the emulator for its tests.
// `import { createBridge, startEmulator } from 'gorgias-livechat'`; the SQLite store is
// `openSqliteStore` from 'gorgias-livechat/sqlite' (a native module, loaded only by those who use it).
export { createBridge, type Bridge, type BridgeOptions, type GorgiasCredentials } from './bridge/index.js';
export { createGorgiasClient, type ClientOptions, type GorgiasClient } from './gorgias/client.js';
export { createCallBudget, type BudgetOptions, type CallBudget, type CallPriority } from './budget/budget.js';
export { gorgiasHelpdesk, type GorgiasHelpdeskOptions } from './helpdesk/gorgias.js';
export { startEmulator, type Emulator, type EmulatorOptions } from './emulator/index.js';
export { createReceiver, listenReceiver, parseWebhook, type ReceiverOptions, type RunningReceiver } from './receiver/index.js';
export {
  createSessionManager,
  type BridgeSinks,
  type ChannelInput,
  type Deliver,
  type HelpdeskPort,
  type SessionManager,
  type SessionManagerOptions,
  type Submitted,
} from './session/manager.js';
export { memoryStore, type Delivery, type QueuedDelivery, type SessionStore } from './session/store.js';
export type { AgentWebhook, BotInput, Button, UserMeta, UserOutput, WebhookOutcome } from './session/types.js';
export { deliveryBody, type DeliveryBody } from './outbox/format.js';
export { SIGNATURE_HEADER, signature, verifySignature } from './outbox/signature.js';
export { FakeClock, realClock, type Clock } from './clock.js';
export { SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from './protocol.js';
