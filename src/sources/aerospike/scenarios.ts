/**
 * Scenario types for the ABS simulator (simulator.ts) and two ready scenarios. A scenario is ABS's
 * configuration (clusters, storage, routines) plus how the fake data behaves: records per run,
 * speed, schedules, failing runs and restores.
 */

export interface AbsRoutineSeed {
  /** The BackupRoutine as `/v1/config/routines` shows it. */
  config: Record<string, unknown>;
  /** Records per namespace of a full run (default 10,000). */
  records?: number;
  /** Records per namespace of an incremental run (default records / 10). */
  incrementalRecords?: number;
  /** Speed of this routine's backups (default 1,000 records/s). */
  recordsPerSecond?: number;
  bytesPerRecord?: number;
  secondaryIndexes?: number;
  udfs?: number;
  /** Completed fulls present at start, one an hour back in time (default 0). */
  initialFulls?: number;
  /** Scheduled runs (instead of cron): first at `offsetMs` after the simulated history begins. */
  fullEveryMs?: number;
  incrementalEveryMs?: number;
  offsetMs?: number;
  /** Runs of these modes stop halfway and write no backup (ABS counts a failure). */
  failBackups?: 'full' | 'incremental' | 'both';
  /** Restores of this routine's backups stop at 40 % with this error text. */
  restoreFailure?: string;
  /** Keep at most this many backups per mode (oldest dropped). */
  keepBackups?: number;
}

export interface AbsScenario {
  version: { version: string; buildTime: string; commit: string };
  clusters: Record<string, Record<string, unknown>>;
  storage: Record<string, Record<string, unknown>>;
  routines: Record<string, AbsRoutineSeed>;
  /** Simulated history before start: schedules run from `now - warmupMs`, so runs are mid-way at start. */
  warmupMs?: number;
  /** Periodic restores of a routine's newest full backup (demo). */
  restores?: Array<{ routine: string; everyMs: number; offsetMs?: number }>;
  restoreRecordsPerSecond?: number;
  /** Finished restore jobs beyond this number are dropped, oldest first (default: keep all, as ABS does). */
  maxRestoreJobs?: number;
}

const version = { version: '3.5.0', buildTime: '2026-01-15T10:30:00Z', commit: 'abc123def456' };

const clusters = (): AbsScenario['clusters'] => ({
  absDefaultCluster: {
    'seed-nodes': [{ 'host-name': 'host.docker.internal', port: 3000 }],
    credentials: { user: 'tester', password: 'psw-cluster-secret' },
  },
  drCluster: {
    label: 'disaster recovery',
    'seed-nodes': [{ 'host-name': 'dr-1.internal', port: 3000, 'tls-name': 'dr' }],
    credentials: { user: 'restorer', password: 'dr-cluster-secret', 'auth-mode': 'INTERNAL' },
    'conn-timeout': 30000,
    'max-parallel-scans': 8,
  },
});

const storage = (): AbsScenario['storage'] => ({
  local: { 'local-storage': { path: './localStorage' } },
  minio: {
    's3-storage': {
      path: 'storage1',
      bucket: 'as-backup-bucket',
      's3-region': 'eu-central-1',
      's3-profile': 'minio',
      's3-endpoint-override': 'http://host.docker.internal:9000',
    },
  },
});

const routine = (ns: string[], storageName: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'backup-policy': 'defaultPolicy',
  'source-cluster': 'absDefaultCluster',
  storage: storageName,
  'interval-cron': '@yearly',
  namespaces: ns,
  ...extra,
});

/** Deterministic scenario for tests: nothing runs until a test triggers it. */
export function testScenario(): AbsScenario {
  return {
    version,
    clusters: clusters(),
    storage: storage(),
    routines: {
      // 10 s full (10,000 records at 1,000/s), 1 s incremental, one full already done.
      routine1: { config: routine(['source-ns1'], 'minio', { 'incr-interval-cron': '@daily' }), initialFulls: 1 },
      // No full yet: an incremental is skipped.
      routine2: { config: routine(['source-ns2'], 'local', { 'set-list': ['backupSet'], 'bin-list': ['backupBin'] }) },
      // Runs fail halfway; restores of its backups fail too.
      flaky: {
        config: routine(['source-ns3'], 'local'),
        initialFulls: 1,
        failBackups: 'both',
        restoreFailure: 'failed to restore namespace source-ns3: AEROSPIKE_ERR_DEVICE_OVERLOAD',
      },
    },
    restoreRecordsPerSecond: 1_000,
  };
}

/** Live demo: runs and restores at different stages from the first second, looping forever. */
export function demoScenario(): AbsScenario {
  return {
    version,
    clusters: clusters(),
    storage: storage(),
    warmupMs: 10 * 60_000,
    routines: {
      daily: {
        config: routine(['source-ns1', 'source-ns2'], 'minio', { 'interval-cron': '0 0 2 * * *', 'incr-interval-cron': '0 */10 * * * *' }),
        records: 60_000,
        recordsPerSecond: 800,
        fullEveryMs: 4 * 60_000,
        incrementalEveryMs: 45_000,
        offsetMs: 40_000,
        keepBackups: 20,
      },
      hourly: {
        config: routine(['source-ns3'], 'local', { 'interval-cron': '0 0 * * * *' }),
        records: 30_000,
        recordsPerSecond: 400,
        fullEveryMs: 100_000,
        offsetMs: 30_000,
        keepBackups: 20,
      },
      analytics: {
        config: routine(['analytics'], 'local', { 'interval-cron': '0 30 3 * * *', 'incr-interval-cron': '0 */5 * * * *' }),
        records: 45_000,
        recordsPerSecond: 500,
        fullEveryMs: 3 * 60_000,
        incrementalEveryMs: 70_000,
        offsetMs: 50_000,
        failBackups: 'incremental',
        restoreFailure: 'failed to restore namespace analytics: AEROSPIKE_ERR_RECORD_TOO_BIG',
        keepBackups: 20,
      },
    },
    restores: [
      { routine: 'daily', everyMs: 2 * 60_000, offsetMs: 9 * 60_000 + 30_000 },
      { routine: 'analytics', everyMs: 3 * 60_000, offsetMs: 8 * 60_000 + 40_000 },
    ],
    restoreRecordsPerSecond: 900,
    maxRestoreJobs: 100,
  };
}
