// `/metrics` in the Prometheus text format (prom-client, loaded only when `serve` runs).
export interface BridgeMetrics {
  webhook(outcome: string): void;
  channelCall(route: string, status: number): void;
  delivery(result: 'ok' | 'retried'): void;
  gorgiasCall(status: string): void;
  catchUp(): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface Gauges {
  openSessions(): number;
  deliveriesPending(): number;
  jobsPending(): number;
  /** Calls waiting for a slot in the key's call budget. */
  callsWaiting?(): number;
}

export async function prometheusMetrics(gauges: Gauges, labels: Record<string, string> = {}): Promise<BridgeMetrics> {
  const client = await import('prom-client');
  const registry = new client.Registry();
  registry.setDefaultLabels(labels);
  client.collectDefaultMetrics({ register: registry, prefix: 'livechat_' });
  const counter = (name: string, help: string, labelNames: string[] = []) => new client.Counter({ name, help, labelNames, registers: [registry] });
  const webhooks = counter('livechat_webhooks_total', 'Gorgias webhooks received, by outcome', ['outcome']);
  const channel = counter('livechat_channel_calls_total', 'Channel API calls, by route and status', ['route', 'status']);
  const deliveries = counter('livechat_deliveries_total', 'Delivery attempts to the deliver URL, by result', ['result']);
  const gorgias = counter('livechat_gorgias_calls_total', 'Calls to the Gorgias API, by status (429 included)', ['status']);
  const catchUps = counter('livechat_catchups_total', 'Catch-up listings of tickets (lost webhooks)');
  const gauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('livechat_open_sessions', 'Conversations with an open livechat session', () => gauges.openSessions());
  gauge('livechat_deliveries_pending', 'Deliveries waiting in the outbox', () => gauges.deliveriesPending());
  gauge('livechat_gorgias_calls_pending', 'Gorgias calls queued or in flight', () => gauges.jobsPending());
  gauge('livechat_gorgias_calls_waiting', 'Gorgias calls waiting for a slot in the call budget', () => gauges.callsWaiting?.() ?? 0);
  // One child per outcome, looked up once: prom-client hashes the labels on every labelled inc.
  const byOutcome = new Map<string, { inc(): void }>();
  return {
    webhook: (outcome) => {
      let child = byOutcome.get(outcome);
      if (!child) byOutcome.set(outcome, (child = webhooks.labels({ outcome })));
      child.inc();
    },
    channelCall: (route, status) => channel.inc({ route, status: String(status) }),
    delivery: (result) => deliveries.inc({ result }),
    gorgiasCall: (status) => gorgias.inc({ status }),
    catchUp: () => catchUps.inc(),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
