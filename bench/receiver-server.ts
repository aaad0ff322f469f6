// One server for the receiver benchmark, in a process of its own so it does not share an event
// loop with the load generator:
//   node --import tsx bench/receiver-server.ts bare             node http answering 200 (the ceiling)
//   node --import tsx bench/receiver-server.ts receiver <token> the real receiver, trivial onEvent
// Prints {"port":N} once listening; when its stdin closes, prints {"events":N} (the webhooks that
// reached onEvent) and exits.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReceiver, listenReceiver } from '../src/receiver/index.js';

const [kind, token] = process.argv.slice(2);
let port: number;
let events = 0;

if (kind === 'bare') {
  const body = '{"ok":true}';
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
} else if (kind === 'receiver' && token) {
  const running = await listenReceiver(
    createReceiver({
      token,
      onEvent: () => {
        events++;
        return 'delivered';
      },
    }),
  );
  port = running.port;
} else {
  process.stderr.write('usage: receiver-server.ts bare | receiver <token>\n');
  process.exit(2);
}

process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.on('end', () => process.stdout.write(`${JSON.stringify({ events })}\n`, () => process.exit(0))).resume();
