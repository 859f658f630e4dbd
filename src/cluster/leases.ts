/**
 * One upstream loop per resource across all instances (docs/ARCHITECTURE.md, "Several instances").
 *
 * Every instance with watchers of a resource joins the election for its key. The lease is a Redis
 * key set with `SET key token NX PX leaseMs`; its holder renews it every leaseMs/3 (a Lua script
 * that extends it only if it still holds the token) and runs the upstream loop; the others follow.
 * A holder whose watchers all left releases it (a script that deletes it only if it still holds
 * it), and a follower takes it at its next attempt; a holder that dies stops renewing and the
 * lease expires, so a follower takes over within leaseMs + leaseMs/3.
 *
 * Fencing: each acquisition increments `fence:<key>`; the leader stamps everything it relays with
 * its fence, and followers ignore anything stamped lower than the highest fence they have seen,
 * so a paused leader that lost its lease without noticing cannot overwrite its successor.
 *
 * The leader relays each outcome of its loop (the upstream's answer, or the error) on a channel
 * of the event bus, and keeps the last one in Redis for instances that join later.
 *
 * While Redis is unreachable, every lease is granted locally (each instance polls for its own
 * watchers) and contested again when Redis answers.
 */
import { randomUUID } from 'node:crypto';
import { errorFromJson, errorToJson } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RedisLink } from './redis-link.js';

/** What a leader relays of one outcome of its loop. */
export interface RelayMessage {
  fence: number;
  /** Epoch ms on the leader. */
  at: number;
  ok: boolean;
  /** The answer, in the loop's wire form (JSON). */
  value?: unknown;
  /** The failure, as JSON (see errors.ts: errorToJson). */
  error?: unknown;
}

export interface LeaseListener {
  /** This instance now runs the loop. */
  lead(): void;
  /** Another instance runs it: stop calling the upstream, use what it relays. */
  follow(): void;
  /** An outcome the leader relayed (delivered only while following). */
  relayed(message: RelayMessage): void;
}

export interface Lease {
  readonly leading: boolean;
  /** Leader only: sends one outcome to the followers. */
  relay(message: Omit<RelayMessage, 'fence'>, keepMs: number): void;
  /** Leaves the election (the lease is freed at once if held). */
  release(): void;
}

/** Elects one instance per loop key. */
export interface LoopElection {
  join(key: string, listener: LeaseListener): Lease;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisLoopElection implements LoopElection {
  constructor(
    private readonly link: RedisLink,
    private readonly options: { leaseMs: number; logger: Logger },
  ) {}

  join(key: string, listener: LeaseListener): Lease {
    return new RedisLease(this.link, key, listener, this.options);
  }
}

class RedisLease implements Lease {
  leading = false;
  /** `follow` was reported (a newcomer that never led is told once). */
  private followed = false;
  private local = false;
  private fence = 0;
  private highestFence = 0;
  private released = false;
  private attempt: Promise<void> | undefined;
  /** Names the holder: this instance (as /ready shows it) and this lease. */
  private readonly token: string;
  private readonly timer: NodeJS.Timeout;
  private readonly leaseKey: string;
  private readonly fenceKey: string;
  private readonly lastKey: string;
  private readonly channel: string;
  private readonly onRelay: (event: Event) => void;
  private readonly stopWatchingLink: () => void;

  constructor(
    private readonly link: RedisLink,
    key: string,
    private readonly listener: LeaseListener,
    private readonly options: { leaseMs: number; logger: Logger },
  ) {
    const prefix = link.keyPrefix;
    this.token = `${link.instanceId}/${randomUUID()}`;
    this.leaseKey = `${prefix}lease:${key}`;
    this.fenceKey = `${prefix}fence:${key}`;
    this.lastKey = `${prefix}last:${key}`;
    this.channel = `relay:${key}`;
    this.onRelay = (event) => this.deliver((event as CustomEvent<RelayMessage>).detail);
    link.eventTarget.addEventListener(this.channel, this.onRelay as never);
    this.stopWatchingLink = link.onChange(() => this.contest());
    this.timer = setInterval(() => this.contest(), Math.max(100, Math.floor(options.leaseMs / 3)));
    this.timer.unref();
    this.contest();
    // Whoever leads, a newcomer starts from the last outcome relayed.
    if (link.up) {
      void link.commands
        .get(this.lastKey)
        .then((text) => {
          if (text) this.deliver(JSON.parse(text) as RelayMessage);
        })
        .catch(() => undefined);
    }
  }

  relay(message: Omit<RelayMessage, 'fence'>, keepMs: number): void {
    if (!this.leading || this.released || this.local || !this.link.up) return;
    const stamped: RelayMessage = { ...message, fence: this.fence };
    this.link.eventTarget.dispatchEvent(new CustomEvent(this.channel, { detail: stamped }) as never);
    void this.link.commands.set(this.lastKey, JSON.stringify(stamped), 'PX', Math.max(1_000, Math.round(keepMs))).catch(() => undefined);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    this.stopWatchingLink();
    this.link.eventTarget.removeEventListener(this.channel, this.onRelay as never);
    if (this.leading && !this.local && this.link.up) {
      void this.link.commands.eval(RELEASE, 1, this.leaseKey, this.token).catch(() => undefined);
    }
    this.leading = false;
  }

  private deliver(message: RelayMessage | null | undefined): void {
    if (!message || this.released || this.leading) return;
    if (message.fence < this.highestFence) return; // from a leader that has been replaced
    this.highestFence = message.fence;
    this.listener.relayed(message);
  }

  /** One election step; never two at once. */
  private contest(): void {
    if (this.released || this.attempt) return;
    this.attempt = this.step()
      .catch((error: unknown) => {
        // Redis failed mid-step: behave as when it is unreachable.
        this.options.logger.debug({ err: error, lease: this.leaseKey }, 'lease step failed');
        this.becomeLocalLeader();
      })
      .finally(() => {
        this.attempt = undefined;
      });
  }

  private async step(): Promise<void> {
    if (!this.link.up) {
      this.becomeLocalLeader();
      return;
    }
    const ms = this.options.leaseMs;
    if (this.leading && !this.local) {
      const renewed = await this.link.commands.eval(RENEW, 1, this.leaseKey, this.token, String(ms));
      if (this.released) return;
      if (Number(renewed) !== 1) this.becomeFollower();
      return;
    }
    const acquired = await this.link.commands.set(this.leaseKey, this.token, 'PX', ms, 'NX');
    if (this.released) {
      if (acquired === 'OK') void this.link.commands.eval(RELEASE, 1, this.leaseKey, this.token).catch(() => undefined);
      return;
    }
    if (acquired === 'OK') {
      this.fence = await this.link.commands.incr(this.fenceKey);
      this.highestFence = Math.max(this.highestFence, this.fence);
      this.local = false;
      if (!this.leading) {
        this.leading = true;
        this.listener.lead();
      }
      return;
    }
    // Someone else holds it (a local lease taken while Redis was away ends here).
    this.becomeFollower();
  }

  private becomeLocalLeader(): void {
    if (this.released) return;
    this.local = true;
    if (this.leading) return;
    this.leading = true;
    this.listener.lead();
  }

  private becomeFollower(): void {
    this.local = false;
    if (!this.leading) {
      if (!this.followed) {
        this.followed = true;
        this.listener.follow();
      }
      return;
    }
    this.leading = false;
    this.listener.follow();
  }
}

/** How a loop's or session's values travel between instances (PollSpec.relay, StreamSpec.relay). */
export interface Relay<T> {
  /** A value → JSON. */
  encode(value: T): unknown;
  /** JSON relayed by the leader → the value a follower's watchers get (no upstream call). */
  decode(wire: unknown): T;
  /** Called when this instance takes over from another (to continue what it followed). */
  onLead?(): void;
}

/** What a loop or session does as the election turns (only `lead` when there is no election). */
export interface SharedRole<T> {
  /** Run the upstream loop or session here (after `relay.onLead` when taking over). */
  lead(): void;
  /** Another instance runs it: stop calling the upstream. */
  follow(): void;
  /** What the leader relayed, decoded (only while following). */
  value(value: T): void;
  error(error: unknown): void;
  /** A relay callback threw (a bug in a vendor's encode/decode/onLead): reported, never fatal. */
  bug(error: unknown): void;
}

/** One loop's or session's place among the instances: how it relays, and how it leaves. */
export interface SharedPlace<T> {
  /** Leader only (a no-op otherwise): the followers get this outcome, kept `keepMs` for newcomers. */
  relayValue(value: T, keepMs: number): void;
  relayError(error: unknown, keepMs: number): void;
  release(): void;
}

/**
 * The one way a loop or session joins the election (poller.ts, stream-hub.ts). Without an election
 * or a relay it just leads, and relaying is a no-op.
 */
export function joinShared<T>(election: LoopElection | undefined, key: string, relay: Relay<T> | undefined, role: SharedRole<T>): SharedPlace<T> {
  if (!election || !relay) {
    role.lead();
    return { relayValue: () => undefined, relayError: () => undefined, release: () => undefined };
  }
  let followed = false;
  const lease = election.join(key, {
    lead: () => {
      if (followed) {
        try {
          relay.onLead?.();
        } catch (error) {
          role.bug(error);
        }
      }
      role.lead();
    },
    follow: () => {
      followed = true;
      role.follow();
    },
    relayed: (message) => {
      if (!message.ok) return role.error(errorFromJson(message.error));
      let value: T;
      try {
        value = relay.decode(message.value);
      } catch (error) {
        return role.bug(error);
      }
      role.value(value);
    },
  });
  return {
    relayValue: (value, keepMs) => {
      if (!lease.leading) return;
      let wire: unknown;
      try {
        wire = relay.encode(value);
      } catch (error) {
        return role.bug(error);
      }
      lease.relay({ at: Date.now(), ok: true, value: wire }, keepMs);
    },
    relayError: (error, keepMs) => {
      if (lease.leading) lease.relay({ at: Date.now(), ok: false, error: errorToJson(error) }, keepMs);
    },
    release: () => lease.release(),
  };
}
