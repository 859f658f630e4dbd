import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationEvent } from './model/operation.js';
import type { PollerHub } from './live/poller.js';
import type { OperationTracker } from './live/tracker.js';
import type { SourceRegistry } from './sources/registry.js';
import { sourceKindValue } from './sources/kind.js';

/**
 * Prometheus metrics of one gateway, in its own registry (several gateways can share a process):
 * GraphQL operations by name and outcome with latency (yoga's prometheus plugin), upstream calls by
 * source, endpoint and outcome with a latency histogram, source health, live loops, subscriptions by
 * transport, operations in flight by source and status, events published, history write errors.
 * Labels never carry ids, names from requests, or anything secret.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly historyWriteErrors = new Counter({
    name: 'backupgraph_history_write_errors_total',
    help: 'Operation changes the history store or the pubsub could not take.',
    registers: [this.registry],
  });
  readonly operationEvents = new Counter({
    name: 'backupgraph_operation_events_total',
    help: 'Operation events published (STARTED, PROGRESSED, FINISHED), by source.',
    labelNames: ['source', 'change'],
    registers: [this.registry],
  });
  readonly subscriptions = new Gauge({
    name: 'backupgraph_subscriptions',
    help: 'Running GraphQL subscriptions, by transport.',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly slowConsumersDropped = new Counter({
    name: 'backupgraph_slow_consumers_dropped_total',
    help: 'Subscribers dropped because they stopped reading and their send buffer filled, by transport.',
    labelNames: ['transport'],
    registers: [this.registry],
  });

  constructor() {
    for (const transport of ['graphql-ws', 'sse']) this.subscriptions.set({ transport }, 0);
  }

  /** Collectors that read the live state at scrape time. */
  watch(parts: { registry: SourceRegistry; poller: PollerHub; tracker: OperationTracker }): void {
    const sources = () => parts.registry.all();
    new Gauge({
      name: 'backupgraph_source_status',
      help: 'Health of each source: 1 for its current status (UP, DEGRADED, DOWN).',
      labelNames: ['source', 'kind', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sources()) this.set({ source: s.name, kind: sourceKindValue(s.kind), status: s.health.snapshot().status }, 1);
      },
    });
    new Counter({
      name: 'backupgraph_upstream_calls_total',
      help: 'Upstream calls by source, endpoint (a route template) and outcome (ok or an error code).',
      labelNames: ['source', 'endpoint', 'outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sources()) for (const c of s.health.calls.values()) this.inc({ source: s.name, endpoint: c.endpoint, outcome: c.outcome }, c.count);
      },
    });
    const latency = new Histogram({
      name: 'backupgraph_upstream_call_duration_seconds',
      help: 'Upstream call latency, by source, endpoint (a route template) and outcome.',
      labelNames: ['source', 'endpoint', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    for (const s of sources()) {
      s.health.onCall = (endpoint, outcome, ms) => latency.observe({ source: s.name, endpoint, outcome }, ms / 1000);
    }
    new Counter({
      name: 'backupgraph_malformed_items_total',
      help: 'Upstream items that could not be read, by source.',
      labelNames: ['source'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sources()) this.inc({ source: s.name }, s.health.snapshot().malformedItems);
      },
    });
    new Gauge({
      name: 'backupgraph_live_loops',
      help: 'Shared polling loops running, and their watchers.',
      labelNames: ['measure'],
      registers: [this.registry],
      collect() {
        const loops = parts.poller.activeKeys();
        this.set({ measure: 'loops' }, loops.length);
        this.set({ measure: 'watchers' }, loops.reduce((n, l) => n + l.watchers, 0));
      },
    });
    new Gauge({
      name: 'backupgraph_operations_in_flight',
      help: 'Operations in flight, by source and status.',
      labelNames: ['source', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const op of parts.tracker.active()) counts.set(`${op.source}\u0000${op.status}`, (counts.get(`${op.source}\u0000${op.status}`) ?? 0) + 1);
        for (const [key, n] of counts) {
          const [source, status] = key.split('\u0000') as [string, string];
          this.set({ source, status }, n);
        }
      },
    });
  }

  /** Several instances: whether Redis is reachable (0 = running local-only), and how often that changed. */
  private readonly redisUp = new Gauge({
    name: 'backupgraph_redis_up',
    help: 'Redis reachable (1) or not (0: this instance runs local-only). Present only with pubsub.redis.',
    registers: [this.registry],
  });
  private readonly redisOutages = new Counter({
    name: 'backupgraph_redis_outages_total',
    help: 'Times Redis became unreachable and this instance fell back to local-only operation.',
    registers: [this.registry],
  });

  onRedisStatus(up: boolean): void {
    this.redisUp.set(up ? 1 : 0);
    if (!up) this.redisOutages.inc();
  }

  onOperationEvent(event: OperationEvent): void {
    this.operationEvents.inc({ source: event.operation.source, change: event.change });
  }

  /** `/metrics` and the GraphQL operation metrics (subscriptions by transport: the SubscriptionLedger's gauge). */
  plugins(): Plugin[] {
    return [
      usePrometheus({
        endpoint: '/metrics',
        registry: this.registry,
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          // Parse and validate are cached per document: timing them costs more than they take.
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_execute: true,
          graphql_envelop_phase_subscribe: true,
          graphql_yoga_http_duration: true,
          // On by default, and it walks every request's document with TypeInfo: about 2 % of a
          // request's CPU for a schema with no deprecated field.
          graphql_envelop_deprecated_field: false,
          graphql_envelop_schema_change: false,
        },
      }),
    ];
  }
}
