// Embedding the bridge in your own bot (an ES module: "type": "module", or a .mts file).
// Run it from a clone: `npm run build && node --import tsx examples/embed.ts`. It plays one
// hand-off against the built-in Gorgias emulator; for a real account, pass `gorgias: { domain,
// username, apiKey }` and a public webhook URL instead.
import { createBridge, deliveryBody, startEmulator, SESSION_END, SESSION_START, type DeliveryBody } from 'gorgias-livechat';

// Gorgias: the emulator here. `emu.agent` plays the agent.
const emu = await startEmulator({ rateLimit: false });

// Your channel: what the bridge delivers (agent replies, the [End chat] button, lifecycle events).
const said: string[] = [];
function toChannel(d: DeliveryBody): void {
  if (d.type === 'user.message') said.push(`agent: ${d.text}${d.buttons?.length ? ` [${d.buttons.map((b) => b.title).join('] [')}]` : ''}`);
  if (d.type === 'bot.event') said.push(`bot gets ${d.event}`);
}

const bridge = await createBridge({
  gorgias: { domain: emu.url, username: emu.email, apiKey: emu.apiKey },
  // Secrets: generate them once and keep them (`livechat serve --print-secret` makes one).
  webhookToken: 'a-long-random-token-for-the-webhook-url',
  channelSecret: 'a-long-random-secret-for-the-channel-api',
  // In-process delivery; `deliverUrl` POSTs the same JSON, signed, to your HTTP endpoint instead.
  deliver: (d) => toChannel(deliveryBody(d)),
});
// Listen before the hand-off: Gorgias calls this server with the agents' replies.
const server = await bridge.listen(0, '127.0.0.1');
await bridge.installWebhook(`${server.url}/gorgias/webhook`);

// Your channel hands every user message to the bridge first; `routed: 'bot'` means "your bot answers".
const ada = { name: 'Ada', email: 'ada@example.com', channel: 'webchat' };
const first = await bridge.userMessage('conv-7', 'where is my order?', ada);
if (first.routed === 'bot') await bridge.botSaid('conv-7', 'I can get you a human. [Talk to a human]');
await bridge.userPayload('conv-7', SESSION_START, ada); // the button's payload
await bridge.userMessage('conv-7', 'it is order #1042'); // routed: 'livechat', so the bot stays silent

// The agent answers in Gorgias, then signs off with the macro.
const ticketId = await waitFor(() => bridge.manager.conversation('conv-7')?.session?.ticketId);
await emu.agent.reply(ticketId, 'Hi Ada, it ships tomorrow.');
await emu.agent.reply(ticketId, `Anything else? ${SESSION_END}`);
await waitFor(() => said.length >= 2 || undefined);
await bridge.userPayload('conv-7', SESSION_END); // the user pressed [End chat]
await waitFor(() => said.length >= 3 || undefined);

console.log(said.join('\n'));
await bridge.close();
await emu.close();

async function waitFor<T>(read: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = read();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('gave up waiting');
}
