import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { GatewayConfig } from './config.js';
import { demoScenario } from './sources/aiven/scenarios.js';
import { startAivenSimulator } from './sources/aiven/simulator.js';

/**
 * Demo mode (no configuration): starts the built-in upstream simulators on ephemeral loopback
 * ports and a config that points sources at them, so GraphiQL shows moving progress at once.
 */
export interface Demo {
  config: GatewayConfig;
  /** What runs where, for the start-up log. */
  describe(): string[];
  close(): Promise<void>;
}

export async function startDemo(listen: { host: string; port: number }, dataDir = resolve('data')): Promise<Demo> {
  // A fresh random token per run: the simulator checks it like Aiven would.
  const token = randomBytes(18).toString('base64url');
  const aiven = await startAivenSimulator({ token, scenario: demoScenario() });
  return {
    config: {
      listen,
      dataDir,
      sources: [
        {
          name: 'aiven-demo',
          kind: 'aiven',
          baseUrl: aiven.url,
          token,
          poll: { activeMs: 1_000, idleMs: 5_000 },
        },
      ],
      history: { path: resolve(dataDir, 'demo-history.db'), retentionDays: 7 },
    },
    describe: () => [`Aiven simulator: ${aiven.url}/v1 (source "aiven-demo", projects acme-prod, acme-staging)`],
    close: () => aiven.close(),
  };
}

export const DEMO_QUERY = `# backupgraph demo: Aiven services restoring on the built-in simulator.
# Run the subscription below (or the query) and watch the phases advance.

subscription LiveRestores {
  operationsChanged(filter: { active: true }) {
    change
    operation {
      id
      status
      vendorStatus
      message
      progress { percent done total unit ratePerSecond estimatedEndAt estimated }
      ... on NodeRestore {
        project
        node { name state role availabilityZone }
        phases { phase completed current min max unit }
      }
    }
  }
}

query Services {
  sources { name kind health { status latencyMs lastError } }
  services(source: "aiven-demo", first: 20) {
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
`;
