// Server-sent events: each open page gets a snapshot, then every change as it happens.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventHub {
  /** Keep `res` open as an event stream; `first` is sent to it alone, at once. */
  open(req: IncomingMessage, res: ServerResponse, first: { event: string; data: unknown }): void;
  send(event: string, data: unknown): void;
  readonly clients: number;
  /** End every stream (the server is stopping). */
  close(): void;
}

/** One event in the wire format. JSON never holds a raw newline, so one `data:` line is enough. */
export function eventText(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createEventHub(): EventHub {
  const streams = new Set<ServerResponse>();
  return {
    open(req, res, first) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
      });
      // Reconnect soon after a restart of the playground; the snapshot then replaces the page's state.
      res.write('retry: 1000\n\n');
      res.write(eventText(first.event, first.data));
      streams.add(res);
      const drop = () => streams.delete(res);
      req.on('close', drop);
      res.on('close', drop);
    },
    send(event, data) {
      const text = eventText(event, data);
      for (const res of streams) res.write(text);
    },
    get clients() {
      return streams.size;
    },
    close() {
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
