/**
 * The gateway's connection to Redis when several instances share events and upstream loops
 * (config `pubsub.redis`). Three ioredis clients: one publishes, one subscribes (a subscribed
 * connection can do nothing else), one runs lease commands.
 *
 * Events travel through yoga's Redis event target. While Redis is unreachable the instance runs
 * local-only: events go straight to its own subscribers, every lease is granted locally (so each
 * instance polls for its own subscribers), a warning is logged and `backupgraph_redis_up` is 0.
 * ioredis reconnects by itself; when Redis answers again the instance rejoins (events through
 * Redis, leases contested again) and logs it.
 */
import { randomUUID } from 'node:crypto';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { GatewayEventTarget } from '../live/pubsub.js';

export interface RedisLinkOptions {
  url: string;
  /** Prefix of every key and channel. */
  keyPrefix: string;
  logger: Logger;
  /** Called on every change of reachability (metrics). */
  onStatus?: (up: boolean) => void;
}

export class RedisLink {
  /** This instance's name on the bus (random per start). */
  readonly instanceId = randomUUID();
  readonly keyPrefix: string;
  /** Lease commands (SET NX PX, renewals, fencing counters, last relayed values). */
  readonly commands: Redis;
  readonly eventTarget: GatewayEventTarget;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly logger: Logger;
  private readonly onStatus: (up: boolean) => void;
  private readonly listeners = new Set<(up: boolean) => void>();
  private wasUp: boolean | undefined;
  private closed = false;

  constructor(options: RedisLinkOptions) {
    this.keyPrefix = options.keyPrefix;
    this.logger = options.logger;
    this.onStatus = options.onStatus ?? (() => undefined);
    const clientOptions: RedisOptions = {
      lazyConnect: false,
      // Never give up on a command while reconnecting (a rejected one would surface far away); the
      // gateway itself checks `up` before relying on Redis.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
      connectTimeout: 2_000,
    };
    this.publisher = new Redis(options.url, { ...clientOptions, connectionName: 'backupgraph-publish' });
    this.subscriber = new Redis(options.url, { ...clientOptions, connectionName: 'backupgraph-subscribe' });
    // Lease commands fail fast: one left waiting for a reconnect would hold its loop's election step,
    // and the loop would stall instead of running local-only.
    this.commands = new Redis(options.url, {
      ...clientOptions,
      connectionName: 'backupgraph-leases',
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 1_000,
    });
    for (const client of [this.publisher, this.subscriber, this.commands]) {
      // ioredis reports every failed reconnect as an error event: one warning per outage is enough.
      client.on('error', () => undefined);
      client.on('ready', () => this.update());
      client.on('close', () => this.update());
      client.on('end', () => this.update());
    }
    const redisTarget = createRedisEventTarget({
      // The target only ever calls publish(); a failed publish is logged here instead of becoming
      // an unhandled rejection.
      publishClient: {
        publish: (channel: string, message: string) =>
          this.publisher.publish(channel, message).catch((error: unknown) => this.logger.warn({ err: error }, 'Redis publish failed')),
      } as unknown as Redis,
      subscribeClient: this.subscriber,
    });
    const local = new EventTarget();
    const prefixed = (type: string) => `${this.keyPrefix}${type}`;
    this.eventTarget = {
      addEventListener: (type, listener) => {
        redisTarget.addEventListener(prefixed(type), listener as never);
        local.addEventListener(type, listener as never);
      },
      removeEventListener: (type, listener) => {
        redisTarget.removeEventListener(prefixed(type), listener as never);
        local.removeEventListener(type, listener as never);
      },
      dispatchEvent: (event) => {
        if (!this.up) return local.dispatchEvent(event);
        return redisTarget.dispatchEvent(new CustomEvent(prefixed(event.type), { detail: (event as CustomEvent).detail }) as never);
      },
    } as GatewayEventTarget;
  }

  /** All three connections are ready. */
  get up(): boolean {
    return !this.closed && [this.publisher, this.subscriber, this.commands].every((c) => c.status === 'ready');
  }

  /** Listens to changes of `up`; returns the function that stops listening. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when Redis answers a PING (readiness); rejects otherwise, within `timeoutMs`. */
  async ping(timeoutMs = 1_000): Promise<void> {
    if (!this.up) throw new Error('Redis is unreachable');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.commands.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Redis did not answer in time')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once connected (or after `timeoutMs`, local-only until Redis answers). */
  async ready(timeoutMs = 3_000): Promise<boolean> {
    if (this.up) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stop();
        if (this.wasUp === undefined) {
          this.wasUp = false;
          this.logger.warn('Redis unreachable at start: running local-only (own polling, own subscribers) until it answers');
          this.onStatus(false);
        }
        resolve(false);
      }, timeoutMs);
      const stop = this.onChange((up) => {
        if (!up) return;
        clearTimeout(timer);
        stop();
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.allSettled([this.publisher, this.subscriber, this.commands].map((c) => c.quit().catch(() => c.disconnect())));
  }

  private update(): void {
    if (this.closed) return;
    const up = this.up;
    if (up === this.wasUp) return;
    // Still connecting at start: ready() decides when that has taken too long.
    if (this.wasUp === undefined && !up) return;
    const first = this.wasUp === undefined;
    this.wasUp = up;
    if (up) {
      if (!first) this.logger.info('Redis reachable again: events and leases shared with the other instances');
    } else {
      this.logger.warn('Redis unreachable: running local-only (own polling, own subscribers) until it answers again');
    }
    this.onStatus(up);
    for (const listener of [...this.listeners]) listener(up);
  }
}
