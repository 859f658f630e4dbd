/** The Aiven simulator's catalogue: service types, clouds, plans and the nodes a plan has. */
import type { AivenNodeSeed } from './scenarios.js';

export const SERVICE_TYPES: Record<string, { description: string; latest_available_version: string }> = {
  pg: { description: 'PostgreSQL - Object-Relational Database Management System', latest_available_version: '16' },
  mysql: { description: 'MySQL - Relational Database Management System', latest_available_version: '8' },
  kafka: { description: 'Kafka - High-Throughput Distributed Messaging System', latest_available_version: '3.7' },
  opensearch: { description: 'OpenSearch - Search & Analyze Data in Real Time', latest_available_version: '2.11' },
  clickhouse: { description: 'ClickHouse - High Performance Columnar Database', latest_available_version: '24.3' },
  grafana: { description: 'Grafana - Metrics Dashboard', latest_available_version: '10' },
  valkey: { description: 'Valkey - In-Memory Data Store', latest_available_version: '8' },
  caching: { description: 'Caching - In-Memory Data Structure Store', latest_available_version: '7.2' },
};

/** cloud → price multiplier */
export const CLOUDS: Record<string, number> = {
  'google-europe-west3': 1,
  'google-us-central1': 0.95,
  'aws-us-east-1': 1,
  'aws-eu-west-1': 1.05,
  'azure-westeurope': 1.1,
  'do-ams3': 0.9,
};

export interface PlanDef { plan: string; disk: number; memory: number; price: number; clouds: string[] }
export const ALL_CLOUDS = Object.keys(CLOUDS);
export const PLANS: PlanDef[] = [
  { plan: 'hobbyist', disk: 8192, memory: 1024, price: 0.026, clouds: ['google-europe-west3', 'do-ams3'] },
  { plan: 'startup-4', disk: 81920, memory: 4096, price: 0.137, clouds: ALL_CLOUDS },
  { plan: 'startup-8', disk: 179200, memory: 8192, price: 0.274, clouds: ALL_CLOUDS },
  { plan: 'business-4', disk: 81920, memory: 4096, price: 0.411, clouds: ALL_CLOUDS },
  { plan: 'business-8', disk: 179200, memory: 8192, price: 0.822, clouds: ALL_CLOUDS },
  { plan: 'premium-4', disk: 81920, memory: 4096, price: 0.616, clouds: ALL_CLOUDS.filter((c) => c !== 'do-ams3') },
  { plan: 'premium-8', disk: 179200, memory: 8192, price: 1.233, clouds: ALL_CLOUDS.filter((c) => c !== 'do-ams3') },
];

export function plansFor(type: string): PlanDef[] {
  return ['pg', 'mysql', 'grafana', 'valkey', 'caching'].includes(type) ? PLANS : PLANS.filter((p) => p.plan !== 'hobbyist');
}
export function planDef(type: string, plan: string): PlanDef | undefined {
  return plansFor(type).find((p) => p.plan === plan);
}
/** hobbyist / startup-* 1 node, business-* 2, premium-* 3. */
export function nodeCountForPlan(plan: string): number {
  if (plan.startsWith('premium-')) return 3;
  if (plan.startsWith('business-')) return 2;
  return 1;
}


export function zoneFor(cloud: string, i: number): string {
  const region = cloud.replace(/^[a-z]+-/, '');
  const letter = 'abc'[i % 3] ?? 'a';
  return cloud.startsWith('aws-') ? `${region}${letter}` : `${region}-${letter}`;
}
export function generateNodes(service: string, type: string, plan: string, cloud: string): AivenNodeSeed[] {
  return Array.from({ length: nodeCountForPlan(plan) }, (_, i) => {
    const n: AivenNodeSeed = { name: `${service}-${i + 1}`, availability_zone: zoneFor(cloud, i) };
    if (type === 'pg' || type === 'mysql') n.role = i === 0 ? 'master' : 'standby';
    return n;
  });
}
