/**
 * Scenario types for the Aiven simulator (simulator.ts) and two ready scenarios.
 *
 * A scenario seeds projects → services → nodes. A node with a `restore` plan walks the restore
 * lifecycle described in docs/upstreams/aiven.md on the simulator clock:
 *   running → setting_up_vm (setupMs) → syncing_data (phases in order) → running (or `thenState`)
 * optionally pausing in `timing_out`, and optionally looping (`loopAfterMs`) for the live demo.
 */

export type AivenServiceState = 'RUNNING' | 'REBUILDING' | 'REBALANCING' | 'POWEROFF';
export type AivenNodeRole = 'master' | 'read-replica' | 'standby';

export interface AivenScenario {
  projects: Record<string, AivenServiceSeed[]>;
  /** Optional per-project settings; `default_cloud` defaults to the first service's cloud. */
  projectSettings?: Record<string, { default_cloud?: string }>;
}

export interface AivenBackupSeed {
  backup_name: string;
  backup_time: string;
  data_size: number;
  incremental?: boolean;
  storage_location?: string;
}

export interface AivenServiceSeed {
  service_name: string;
  service_type: string;
  plan: string;
  cloud_name: string;
  /** Default RUNNING. While any node is not `running` the service reports REBUILDING instead. */
  state?: AivenServiceState;
  termination_protection?: boolean;
  disk_space_mb?: number;
  user_config?: Record<string, unknown>;
  create_time?: string;
  nodes: AivenNodeSeed[];
  /** Addition: the service's `backups` list (names can match `position.backup_name`). */
  backups?: AivenBackupSeed[];
}

export interface AivenNodeSeed {
  name: string;
  role?: AivenNodeRole;
  availability_zone?: string;
  shard?: { name?: string; position?: number };
  /** Addition: OpenSearch `roles` string, e.g. `*mc`. */
  roles?: string;
  /** Emit `node_name` instead of `name` (the seed document's spelling). */
  legacyNodeName?: boolean;
  /** Absent: node is `running`. */
  restore?: AivenRestorePlan;
}

export type AivenPhaseName = 'prepare' | 'basebackup_prepare' | 'basebackup' | 'stream' | 'finalize';

export interface AivenPhaseSeed {
  phase: AivenPhaseName | (string & {});
  /** undefined → key omitted; null → `unit: null` (generic unit). */
  unit?: string | null;
  /** undefined → key omitted; null → null. */
  min?: number | null;
  /** undefined → key omitted (and `current` omitted too); null → null (and `current: null`). */
  max?: number | null;
  /** Override for `current`: null → always null, 'absent' → key omitted. Default: computed. */
  current?: null | 'absent';
  durationMs: number;
  /** `max` grows linearly from `max` to this value over the phase ("max may change"). */
  maxGrowsTo?: number;
  position?: { backup_incremental: boolean; backup_name: string; chain_index: number; chain_total: number };
}

export interface AivenRestorePlan {
  /** Node is `running` until then (default 0: restoring from t=0). */
  startAfterMs?: number;
  /** Time in `setting_up_vm`. */
  setupMs: number;
  phases: AivenPhaseSeed[];
  /**
   * true/undefined: `progress_updates` lists the phases started so far while syncing_data.
   * false: while syncing_data the node has NO `progress_updates` key at all (quirk).
   * 'empty': while syncing_data `progress_updates: []`.
   */
  reportProgress?: boolean | 'empty';
  /** Node state `timing_out` from this offset (restore-relative) for `timingOutForMs`; the restore
   * is paused meanwhile and then continues where it was. */
  timingOutAtMs?: number;
  timingOutForMs?: number;
  /** Demo: after reaching running, start the same restore again after this pause. */
  loopAfterMs?: number;
  /** State after the last phase (default running). */
  thenState?: 'running' | 'leaving';
}

const GiB = 1024 * 1024 * 1024;

/**
 * Live demo: two projects, restores that advance in real time over ~60–90 s and loop forever.
 * Negative `startAfterMs` puts each restore mid-run at start (a different stage each), so the very
 * first query already shows phases moving.
 *
 * acme-prod
 *   pg-orders       pg business-8, termination_protection; standby restores prepare → basebackup →
 *                   stream → finalize (~74 s, loops after 12 s), master running.
 *   mysql-billing   mysql business-4; replica restores with basebackup_prepare and `position`
 *                   chain info (2-backup chain that matches the service `backups` list); a
 *                   `timing_out` pause; stream in `binlogs`.
 *   clickhouse-logs clickhouse premium-8, 4 nodes across 2 shards / 3 AZs; one node's basebackup
 *                   `max` grows while it restores.
 *   opensearch-search opensearch business-4 (OpenSearch `roles`); one node syncing with no
 *                   `progress_updates` key at all, another with an empty list.
 *   kafka-events    kafka business-4, REBALANCING, all nodes running.
 * acme-staging
 *   pg-legacy       pg startup-4; its single node is spelled `node_name` (legacy) and restores.
 *   pg-staging      POWEROFF.
 *   grafana-ops     grafana startup-4, steady RUNNING.
 */
export function demoScenario(): AivenScenario {
  return {
    projectSettings: {
      'acme-prod': { default_cloud: 'google-europe-west3' },
      'acme-staging': { default_cloud: 'aws-eu-west-1' },
    },
    projects: {
      'acme-prod': [
        {
          service_name: 'pg-orders',
          service_type: 'pg',
          plan: 'business-8',
          cloud_name: 'google-europe-west3',
          termination_protection: true,
          disk_space_mb: 179200,
          user_config: { pg_version: '16' },
          create_time: '2025-03-14T09:12:44Z',
          nodes: [
            { name: 'pg-orders-1', role: 'master', availability_zone: 'europe-west3-a' },
            {
              name: 'pg-orders-2',
              role: 'standby',
              availability_zone: 'europe-west3-b',
              restore: {
                startAfterMs: -25_000,
                setupMs: 8_000,
                phases: [
                  { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 8_000 },
                  { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 7_569_280_000, durationMs: 36_000 },
                  { phase: 'stream', unit: 'wal_lsn', min: 0x3a00_0000, max: 0x3c80_0000, durationMs: 16_000 },
                  { phase: 'finalize', unit: null, min: null, max: null, durationMs: 6_000 },
                ],
                loopAfterMs: 12_000,
              },
            },
          ],
        },
        {
          service_name: 'mysql-billing',
          service_type: 'mysql',
          plan: 'business-4',
          cloud_name: 'google-europe-west3',
          disk_space_mb: 81920,
          user_config: { mysql_version: '8' },
          create_time: '2025-06-02T17:40:03Z',
          backups: [
            { backup_name: 'mysql-billing-full-20251101', backup_time: '2025-11-01T03:00:00Z', data_size: 12 * GiB, incremental: false },
            { backup_name: 'mysql-billing-incr-20251102', backup_time: '2025-11-02T03:00:00Z', data_size: 2 * GiB, incremental: true },
          ],
          nodes: [
            { name: 'mysql-billing-1', role: 'master', availability_zone: 'europe-west3-c' },
            {
              name: 'mysql-billing-2',
              role: 'read-replica',
              availability_zone: 'europe-west3-a',
              restore: {
                startAfterMs: -15_000,
                setupMs: 6_000,
                phases: [
                  { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 6_000 },
                  {
                    phase: 'basebackup_prepare', unit: 'bytes_compressed', min: 0, max: 3 * GiB, durationMs: 14_000,
                    position: { backup_incremental: false, backup_name: 'mysql-billing-full-20251101', chain_index: 1, chain_total: 2 },
                  },
                  {
                    phase: 'basebackup', unit: 'bytes_compressed', min: 0, max: GiB, durationMs: 18_000,
                    position: { backup_incremental: true, backup_name: 'mysql-billing-incr-20251102', chain_index: 2, chain_total: 2 },
                  },
                  { phase: 'stream', unit: 'binlogs', min: 0, max: 42, durationMs: 12_000 },
                  { phase: 'finalize', durationMs: 4_000 },
                ],
                timingOutAtMs: 30_000,
                timingOutForMs: 6_000,
                loopAfterMs: 15_000,
              },
            },
          ],
        },
        {
          service_name: 'clickhouse-logs',
          service_type: 'clickhouse',
          plan: 'premium-8',
          cloud_name: 'google-europe-west3',
          disk_space_mb: 358400,
          create_time: '2024-11-20T08:00:00Z',
          nodes: [
            { name: 'clickhouse-logs-1', availability_zone: 'europe-west3-a', shard: { name: 'shard-1', position: 1 } },
            { name: 'clickhouse-logs-2', availability_zone: 'europe-west3-b', shard: { name: 'shard-1', position: 1 } },
            { name: 'clickhouse-logs-3', availability_zone: 'europe-west3-c', shard: { name: 'shard-2', position: 2 } },
            {
              name: 'clickhouse-logs-4',
              availability_zone: 'europe-west3-a',
              shard: { name: 'shard-2', position: 2 },
              restore: {
                startAfterMs: -30_000,
                setupMs: 10_000,
                phases: [
                  { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 5_000 },
                  { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 20 * GiB, maxGrowsTo: 34 * GiB, durationMs: 45_000 },
                  { phase: 'finalize', durationMs: 5_000 },
                ],
                loopAfterMs: 10_000,
              },
            },
          ],
        },
        {
          service_name: 'opensearch-search',
          service_type: 'opensearch',
          plan: 'business-4',
          cloud_name: 'aws-eu-west-1',
          disk_space_mb: 81920,
          create_time: '2025-01-08T12:00:00Z',
          nodes: [
            { name: 'opensearch-search-1', availability_zone: 'eu-west-1a', roles: '*mdi' },
            {
              name: 'opensearch-search-2',
              availability_zone: 'eu-west-1b',
              roles: '-mdi',
              restore: {
                startAfterMs: -12_000,
                setupMs: 7_000,
                phases: [{ phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 5 * GiB, durationMs: 50_000 }],
                reportProgress: false,
                loopAfterMs: 20_000,
              },
            },
            {
              name: 'opensearch-search-3',
              availability_zone: 'eu-west-1c',
              roles: '-di',
              restore: {
                startAfterMs: -3_000,
                setupMs: 5_000,
                phases: [{ phase: 'stream', durationMs: 30_000 }],
                reportProgress: 'empty',
                loopAfterMs: 25_000,
              },
            },
          ],
        },
        {
          service_name: 'kafka-events',
          service_type: 'kafka',
          plan: 'business-4',
          cloud_name: 'aws-eu-west-1',
          state: 'REBALANCING',
          disk_space_mb: 92160,
          create_time: '2024-07-30T06:30:00Z',
          nodes: [
            { name: 'kafka-events-1', availability_zone: 'eu-west-1a' },
            { name: 'kafka-events-2', availability_zone: 'eu-west-1b' },
            { name: 'kafka-events-3', availability_zone: 'eu-west-1c' },
          ],
        },
      ],
      'acme-staging': [
        {
          service_name: 'pg-legacy',
          service_type: 'pg',
          plan: 'startup-4',
          cloud_name: 'aws-eu-west-1',
          create_time: '2023-05-05T05:05:05Z',
          nodes: [
            {
              name: 'pg-legacy-1',
              legacyNodeName: true,
              restore: {
                startAfterMs: -9_000,
                setupMs: 5_000,
                phases: [
                  { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 5_000 },
                  { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 900_000_000, durationMs: 30_000 },
                  { phase: 'stream', unit: 'wal_lsn', min: 0x1000_0000, max: 0x1200_0000, durationMs: 15_000 },
                  { phase: 'finalize', unit: null, durationMs: 5_000 },
                ],
                loopAfterMs: 15_000,
              },
            },
          ],
        },
        {
          service_name: 'pg-staging',
          service_type: 'pg',
          plan: 'business-4',
          cloud_name: 'aws-eu-west-1',
          state: 'POWEROFF',
          create_time: '2024-02-29T10:00:00Z',
          nodes: [
            { name: 'pg-staging-1', role: 'master', availability_zone: 'eu-west-1a' },
            { name: 'pg-staging-2', role: 'standby', availability_zone: 'eu-west-1b' },
          ],
        },
        {
          service_name: 'grafana-ops',
          service_type: 'grafana',
          plan: 'startup-4',
          cloud_name: 'aws-eu-west-1',
          create_time: '2024-09-09T09:09:09Z',
          nodes: [{ name: 'grafana-ops-1', availability_zone: 'eu-west-1c' }],
        },
      ],
    },
  };
}

/**
 * Small and deterministic (use with `clock: 'manual'`). Times are from simulator start.
 *
 * test-project
 *   pg-restore   pg business-4, 2 nodes. pg-restore-1 master running. pg-restore-2 standby:
 *                0–1 s setting_up_vm; 1–2 s prepare (prepare_percent 0..100); 2–6 s basebackup
 *                (bytes_uncompressed 0..4000); 6–8 s stream (wal_lsn 1000..3000); 8–9 s finalize
 *                (unit null, min/max null); from 9 s running. Service REBUILDING until 9 s.
 *   pg-legacy    pg startup-4, node `pg-legacy-1` spelled `node_name`; 0–0.5 s setting_up_vm,
 *                0.5–2.5 s syncing_data WITHOUT a progress_updates key; then running.
 *   mysql-grow   mysql business-4, one node: 0–1 s setting_up_vm; 1–3 s basebackup_prepare
 *                (bytes_compressed 0..1000 growing to 2000, position chain 1/1); then running.
 *   kafka-idle   kafka business-4, termination_protection, 2 shards, all running, RUNNING.
 *   pg-off       pg startup-4, POWEROFF.
 * other-project  (empty)
 */
export function testScenario(): AivenScenario {
  return {
    projectSettings: { 'test-project': { default_cloud: 'google-europe-west3' } },
    projects: {
      'test-project': [
        {
          service_name: 'pg-restore',
          service_type: 'pg',
          plan: 'business-4',
          cloud_name: 'google-europe-west3',
          disk_space_mb: 81920,
          create_time: '2025-01-01T00:00:00Z',
          nodes: [
            { name: 'pg-restore-1', role: 'master', availability_zone: 'europe-west3-a' },
            {
              name: 'pg-restore-2',
              role: 'standby',
              availability_zone: 'europe-west3-b',
              restore: {
                setupMs: 1_000,
                phases: [
                  { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 1_000 },
                  { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 4_000, durationMs: 4_000 },
                  { phase: 'stream', unit: 'wal_lsn', min: 1_000, max: 3_000, durationMs: 2_000 },
                  { phase: 'finalize', unit: null, min: null, max: null, durationMs: 1_000 },
                ],
              },
            },
          ],
        },
        {
          service_name: 'pg-legacy',
          service_type: 'pg',
          plan: 'startup-4',
          cloud_name: 'google-europe-west3',
          create_time: '2025-01-02T00:00:00Z',
          nodes: [
            {
              name: 'pg-legacy-1',
              legacyNodeName: true,
              restore: {
                setupMs: 500,
                phases: [{ phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 100, durationMs: 2_000 }],
                reportProgress: false,
              },
            },
          ],
        },
        {
          service_name: 'mysql-grow',
          service_type: 'mysql',
          plan: 'business-4',
          cloud_name: 'google-europe-west3',
          create_time: '2025-01-03T00:00:00Z',
          backups: [{ backup_name: 'mysql-grow-full-1', backup_time: '2024-12-31T00:00:00Z', data_size: 2000, incremental: false }],
          nodes: [
            {
              name: 'mysql-grow-1',
              role: 'master',
              restore: {
                setupMs: 1_000,
                phases: [
                  {
                    phase: 'basebackup_prepare', unit: 'bytes_compressed', min: 0, max: 1_000, maxGrowsTo: 2_000, durationMs: 2_000,
                    position: { backup_incremental: false, backup_name: 'mysql-grow-full-1', chain_index: 1, chain_total: 1 },
                  },
                ],
              },
            },
          ],
        },
        {
          service_name: 'kafka-idle',
          service_type: 'kafka',
          plan: 'business-4',
          cloud_name: 'google-europe-west3',
          termination_protection: true,
          create_time: '2025-01-04T00:00:00Z',
          nodes: [
            { name: 'kafka-idle-1', availability_zone: 'europe-west3-a', shard: { name: 's1', position: 1 } },
            { name: 'kafka-idle-2', availability_zone: 'europe-west3-b', shard: { name: 's2', position: 2 } },
          ],
        },
        {
          service_name: 'pg-off',
          service_type: 'pg',
          plan: 'startup-4',
          cloud_name: 'google-europe-west3',
          state: 'POWEROFF',
          create_time: '2025-01-05T00:00:00Z',
          nodes: [{ name: 'pg-off-1', role: 'master' }],
        },
      ],
      'other-project': [],
    },
  };
}
