import { resolve } from 'node:path';
import type { GatewayConfig } from './config.js';
import { KINDS } from './sources/kinds.js';

/**
 * Demo mode (no configuration): starts every kind's simulator on ephemeral loopback ports and a
 * config that points one source of each kind at them ("<kind>-demo"), so GraphiQL shows moving
 * progress at once.
 */
export interface Demo {
  config: GatewayConfig;
  /** What runs where, for the start-up log. */
  describe(): string[];
  close(): Promise<void>;
}

export async function startDemo(listen: { host: string; port: number }, dataDir = resolve('data')): Promise<Demo> {
  const upstreams = await Promise.all(KINDS.map(async (kind) => ({ kind, sim: await kind.simulate({ scenario: 'demo', clock: 'realtime' }) })));
  return {
    config: {
      listen,
      dataDir,
      sources: upstreams.map(({ kind, sim }) => sim.source(`${kind.kind}-demo`)) as GatewayConfig['sources'],
      history: { path: resolve(dataDir, 'demo-history.db'), retentionDays: 7 },
    },
    describe: () => upstreams.map(({ kind, sim }) => `${sim.describe()} → source "${kind.kind}-demo"`),
    close: async () => {
      await Promise.all(upstreams.map(({ sim }) => sim.close()));
    },
  };
}

export const DEMO_QUERY = `# backupgraph demo: four vendors' simulators, every backup and restore moving.
# Run the subscription below (or a query) and watch them advance.

subscription Live {
  operationsChanged(filter: { active: true }) {
    change
    operation {
      id
      kind
      status
      vendorStatus
      message
      source { name kind }
      progress { percent done total unit ratePerSecond estimatedEndAt estimated }
      ... on NodeRestore {
        project
        node { name state role availabilityZone }
        phases { phase completed current min max unit }
      }
      ... on AerospikeBackupRun { routineName mode recordsPerSecond kilobytesPerSecond }
      ... on AerospikeRestoreJob { jobId readRecords insertedRecords }
      ... on ScaleTradeBackupRun { runId phase currentParticipant participantsDone participantsTotal remoteDone remoteTotal }
      ... on DocSpaceBackup { taskId tenantId }
      ... on DocSpaceRestore { taskId tenantId }
    }
  }
}

query Fleet {
  aerospike { routines { name lastFullAt nextFullAt running { mode progress { percent } } } }
  scaleTrade { session { state reconnects } current { runId phase participants { name phase percent } } }
  docSpace { backupProgress { status progress { percent } } restoreProgress { status progress { percent } tenantId } }
}

query Services {
  sources { name kind health { status latencyMs lastError } }
  aiven(source: "aiven-demo") {
    services(first: 20) {
      edges {
        node {
          project name type state plan cloud
          nodes {
            name state role availabilityZone
            shard { name position }
            phases { phase completed current max unit progress { percent } }
            restore { status progress { percent ratePerSecond estimatedEndAt estimated } }
          }
        }
      }
    }
  }
}
`;
