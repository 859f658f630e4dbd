import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { LoopElection } from '../cluster/leases.js';
import type { HistoryStore } from '../history/history.js';
import type { PollerHub } from '../live/poller.js';
import type { OperationTracker } from '../live/tracker.js';
import type { SourceRuntime } from './source.js';

/**
 * What one vendor kind brings to the gateway (docs/SOURCES.md): its configuration schema, its
 * factory, its simulator (for the demo and the tests) and the GraphQL type of its sources. The
 * list of kinds is `kinds.ts`; config parsing, createGateway, the demo and the test harness iterate
 * it, so adding a vendor is its folder plus one line there.
 */

/** `{ "env": "NAME" }`: the only way a secret enters the configuration. Resolved wherever it appears. */
export const secretRef = z
  .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') })
  .strict()
  .describe('a secret reference { "env": "VAR_NAME" }');
export type SecretRef = z.infer<typeof secretRef>;

export const pollConfig = z
  .object({
    activeMs: z.number().int().min(100).default(2_000),
    idleMs: z.number().int().min(100).default(30_000),
  })
  .strict();

export const timeoutsConfig = z
  .object({
    connectMs: z.number().int().positive().optional(),
    headersMs: z.number().int().positive().optional(),
    bodyMs: z.number().int().positive().optional(),
    totalMs: z.number().int().positive().optional(),
  })
  .strict();

export const sourceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-" (at most 63)');

/** The keys every source has; a kind extends this with its own. */
export function sourceConfigBase<K extends string>(kind: K) {
  return z.object({
    name: sourceName,
    kind: z.literal(kind),
    poll: pollConfig.default({ activeMs: 2_000, idleMs: 30_000 }),
    timeouts: timeoutsConfig.optional(),
  });
}

/** A parsed config with every secret reference replaced by its value. */
export type Resolved<T> = T extends SecretRef
  ? string
  : T extends readonly (infer U)[]
    ? Resolved<U>[]
    : T extends object
      ? { [K in keyof T]: Resolved<T[K]> }
      : T;

/** What the gateway gives every source it creates. */
export interface SourceServices {
  poller: PollerHub;
  tracker: OperationTracker;
  history: HistoryStore;
  /** Already bound to the source's name. */
  logger: Logger;
  /** Several instances: who holds which upstream session (pushing sources; polled ones go through the poller). */
  election?: LoopElection;
}

/** A simulated upstream of one kind, started on loopback for the demo or a test. */
export interface SimulatedUpstream<Config> {
  /** A resolved source config pointing at the simulator (secrets included). */
  source(name: string): Config;
  /** One line for the start-up log: what runs where. */
  describe(): string;
  /** Moves a manual clock (tests); a no-op on a real-time simulator. */
  advance(ms: number): void;
  /** Hooks the vendor-neutral contract test drives (test/source-contract.test.ts). */
  contract: ContractHooks;
  close(): Promise<void>;
}

/** What the contract test asks of every kind's simulator, in the vendor's own terms. */
export interface ContractHooks {
  /** Starts one operation that reaches a successful end as the clock advances. */
  startOperation(): Promise<void>;
  /** Clock time it needs to finish, at most. */
  operationMs: number;
  /** Every further upstream call fails with a 5xx (or the transport's equivalent) until heal(). */
  breakUpstream(): void;
  heal(): void;
  /** The running operation reports a status value the gateway has never heard of. */
  reportUnknownStatus(): void;
  /**
   * Puts values that must never leave the gateway where this vendor hides them (a 5xx body, an
   * error's stack, a cluster password) and names a query that makes the gateway read them.
   */
  canaries?(): { secrets: string[]; query: string };
}

export interface SimulateOptions {
  scenario: 'demo' | 'test';
  clock: 'realtime' | 'manual';
}

export interface KindDefinition<Schema extends z.ZodType = z.ZodType> {
  /** The config `kind` ("aerospike-backup-service"); GraphQL's SourceKind is derived from it. */
  kind: string;
  /** Human name of the vendor, for logs and messages. */
  vendor: string;
  /** Config schema of one source of this kind (built on sourceConfigBase). */
  config: Schema;
  /** Loads its GraphQL module (types, the entry field, mutations), which registers itself on the builder. */
  schema(): Promise<unknown>;
  create(config: Resolved<z.output<Schema>>, services: SourceServices): SourceRuntime;
  simulate(options: SimulateOptions): Promise<SimulatedUpstream<Resolved<z.output<Schema>>>>;
}

export function defineKind<Schema extends z.ZodType>(definition: KindDefinition<Schema>): KindDefinition<Schema> {
  return definition;
}

/** "aerospike-backup-service" → "AEROSPIKE_BACKUP_SERVICE": one spelling, mechanically derived. */
export function sourceKindValue(kind: string): string {
  return kind.toUpperCase().replace(/-/g, '_');
}
