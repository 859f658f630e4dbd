import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test database (trust auth on loopback): TEST_DATABASE_URL, else the local `test` database. */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  url: string;
  /** Unique to this call, so that tests (and agents) sharing the database never meet. */
  schema: string;
  /** Drops the schema and everything in it; safe to call twice. */
  drop(): Promise<void>;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh schema `<prefix>_<random>` in the test database. Created empty unless `create` is false
 * (then it does not exist yet: for tests of what happens on a database never used before).
 */
export async function createTestSchema(prefix: string, options: { create?: boolean } = {}): Promise<TestSchema> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40) || 'test';
  const schema = `${base}_${randomBytes(6).toString('hex')}`;
  if (options.create !== false) await withClient((client) => client.query(`CREATE SCHEMA ${quote(schema)}`));
  let dropped = false;
  return {
    url: TEST_DATABASE_URL,
    schema,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`));
    },
  };
}

/** One query on the test database (assertions on what the stores wrote). */
export function queryTestDatabase<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(async (client) => (await client.query<R>(text, values)).rows);
}
