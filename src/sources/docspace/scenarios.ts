/** Scripted portals for the DocSpace simulator (see simulator.ts). Times are virtual milliseconds. */

export type DocSpaceTaskKindName = 'backup' | 'restore' | 'transfer';

export interface DocSpaceHistorySeed {
  id: string;
  fileName: string;
  /** BackupStorageType integer. */
  storageType: number;
  /** Relative to the simulator's start (negative = in the past). */
  createdOffsetMs: number;
  /** Lifetime after creation (default 30 days). */
  keepMs?: number;
  dump?: boolean;
}

export interface DocSpaceScheduleSeed {
  storageType: number;
  storageParams: Record<string, string | null>;
  cronParams: { period: number; hour: number; day: number | null };
  backupsStored: number | null;
  dump: boolean;
}

/** A task the portal starts by itself (a scheduled backup, a restore run from the admin panel, a transfer). */
export interface DocSpaceTimelineStep {
  /** Offset in the loop. */
  atMs: number;
  kind: DocSpaceTaskKindName;
  durationMs: number;
  /** Fail at this percent with `error` (default: succeed). */
  failAtPercent?: number;
  error?: string;
  /** Backups only: a warning reported from half way on. */
  warning?: string;
  dump?: boolean;
}

export interface DocSpaceScenario {
  tenantId: number;
  /** Accepted as `Authorization: Bearer <key>`. */
  apiKeys: string[];
  /** Accepted by `POST /api/2.0/authentication` (and Basic auth). */
  users: Array<{ userName: string; password: string }>;
  history: DocSpaceHistorySeed[];
  schedule?: DocSpaceScheduleSeed | null;
  serviceEnabled?: boolean;
  /** false: `dump: true` starts are refused, as on SaaS portals (default true). */
  dumpSupported?: boolean;
  /** A successful restore or transfer gives the portal a new tenant id (default true). */
  restoreChangesTenant?: boolean;
  /** Durations of tasks started through the API. */
  durations: { backupMs: number; restoreMs: number; transferMs: number };
  /** How long a new task reports `Created` before `Running` (default 500 ms, at most a tenth of the task). */
  createdMs?: number;
  /** A loop of tasks the portal runs by itself, starting `offsetMs` into the loop. */
  timeline?: { periodMs: number; offsetMs: number; steps: DocSpaceTimelineStep[] };
}

export const QUOTA_ERROR = 'The backup could not be saved: the storage quota is exceeded';

const DAY = 86_400_000;

/**
 * Small and deterministic (use with `clock: 'manual'`): tenant 1, API key `sk-test-key`, user
 * `admin@example.com` / `secret-password`, two backups in the history (one a dump), a weekly
 * schedule, API-started backups take 10 s, restores 8 s, transfers 6 s; no timeline.
 */
export function testScenario(): DocSpaceScenario {
  return {
    tenantId: 1,
    apiKeys: ['sk-test-key-0123456789'],
    users: [{ userName: 'admin@example.com', password: 'secret-password' }],
    history: [
      { id: '0b6f3c9e-1d1a-4c55-9a51-000000000001', fileName: 'backup_2025-05-30.tar.gz', storageType: 0, createdOffsetMs: -2 * DAY },
      { id: '0b6f3c9e-1d1a-4c55-9a51-000000000002', fileName: 'dump_2025-05-31.tar.gz', storageType: 3, createdOffsetMs: -DAY, dump: true },
    ],
    schedule: { storageType: 0, storageParams: { folderId: '12' }, cronParams: { period: 1, hour: 3, day: 2 }, backupsStored: 5, dump: false },
    durations: { backupMs: 10_000, restoreMs: 8_000, transferMs: 6_000 },
  };
}

/**
 * Live demo: a portal that keeps working on its own, in a 120 s loop that starts 14 s in, so a
 * backup is at about a third from the first second:
 *   0–40 s   scheduled backup (warning from half way: a few files skipped)
 *   46–76 s  restore of the newest backup (every other endpoint answers 403 meanwhile; tenant id
 *            changes when it completes)
 *   82–102 s backup that fails at 60 % (storage quota)
 *   106–116 s portal transfer
 */
export function demoScenario(): DocSpaceScenario {
  return {
    ...testScenario(),
    apiKeys: ['sk-demo-key-0123456789'],
    users: [{ userName: 'admin@demo.example', password: 'demo-password' }],
    timeline: {
      periodMs: 120_000,
      offsetMs: 14_000,
      steps: [
        { atMs: 0, kind: 'backup', durationMs: 40_000, warning: '3 files were skipped: they are locked for editing' },
        { atMs: 46_000, kind: 'restore', durationMs: 30_000 },
        { atMs: 82_000, kind: 'backup', durationMs: 20_000, failAtPercent: 60, error: QUOTA_ERROR },
        { atMs: 106_000, kind: 'transfer', durationMs: 10_000 },
      ],
    },
  };
}
