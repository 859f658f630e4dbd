import { spawn, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, access, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from './support/postgres.js';

/**
 * The Dockerfile's steps, run on clean copies (no image can be built here): each stage's COPY lines
 * and npm commands (`npm ci …`, `npm run build`) in a directory of its own, `COPY --from=build`
 * taken from the build stage's directory, then the production start command, queried like a user
 * would. Other RUN steps (apt-get, mkdir, npm cache clean) are the image's business and skipped.
 * The image holds one bundle and no node_modules, so the parts loaded only when configured (Redis,
 * PostgreSQL, OpenTelemetry, JWT, GraphiQL) are started from it too.
 */
const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);

type Step = { copy: { from?: string; sources: string[]; target: string } } | { npm: string[] };
interface Stage {
  name: string | undefined;
  steps: Step[];
}

async function dockerfileStages(): Promise<Stage[]> {
  const text = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n')) {
    const from = /^FROM \S+(?: AS (\S+))?/i.exec(line);
    if (from) stages.push({ name: from[1], steps: [] });
    const stage = stages.at(-1);
    const copy = /^COPY (?:--from=(\S+) )?(.+) (\S+)$/.exec(line);
    if (stage && copy) stage.steps.push({ copy: { ...(copy[1] ? { from: copy[1] } : {}), sources: copy[2]!.split(/\s+/), target: copy[3]! } });
    const command = /^RUN (.+)$/.exec(line);
    if (stage && command) {
      for (const part of command[1]!.split('&&').map((p) => p.trim().split(/\s+/))) {
        if (part[0] === 'npm' && (part[1] === 'ci' || part[1] === 'run')) stage.steps.push({ npm: part.slice(1) });
      }
    }
  }
  return stages;
}

interface Started {
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** The Dockerfile's CMD in `runtime`, on a free loopback port; resolves once it logs its URL. */
async function startCommand(runtime: string, args: string[], env: Record<string, string>): Promise<Started> {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  expect(cmd[0]).toBe('node');
  const child = spawn(process.execPath, [...cmd.slice(1), ...args, '--port', '0'], {
    cwd: runtime,
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let url: string | undefined;
  for (let i = 0; i < 300 && !url && child.exitCode === null; i++) {
    url = /"graphql":"(http:[^"]+)"/.exec(output)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) child.kill('SIGKILL');
  expect(url, output).toBeDefined();
  return {
    url: url!,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('the production install (the Dockerfile steps)', () => {
  const dirs: string[] = [];
  let runtime = '';
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const stages = await dockerfileStages();
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    const stageDirs = new Map<string, string>();
    for (const stage of stages) {
      const dir = await mkdtemp(join(tmpdir(), `backupgraph-${stage.name ?? 'runtime'}-`));
      dirs.push(dir);
      if (stage.name) stageDirs.set(stage.name, dir);
      runtime = dir;
      for (const step of stage.steps) {
        if ('copy' in step) {
          const base = step.copy.from ? stageDirs.get(step.copy.from)! : ROOT;
          // "/app/dist" in the build stage is dist/ in its directory (WORKDIR /app).
          for (const source of step.copy.sources) await cp(join(base, source.replace(/^\/app\//, '')), join(dir, source.replace(/^\/app\//, '')), { recursive: true });
        } else {
          await run('npm', step.npm, { cwd: dir, timeout: 200_000 }).catch((error: { stdout?: string; stderr?: string }) => {
            throw new Error(`npm ${step.npm.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
          });
        }
      }
    }
  }, 300_000);

  it('holds the bundle only: no sources, no node_modules, no compiler', async () => {
    await access(join(runtime, 'dist', 'cli.js'));
    await access(join(runtime, 'dist', 'page', 'index.html'));
    await access(join(runtime, 'bin', 'backupgraph.js'));
    await expect(access(join(runtime, 'src'))).rejects.toThrow();
    await expect(access(join(runtime, 'node_modules'))).rejects.toThrow();
  });

  it('starts without a transpiler in demo mode, answers, serves the page and GraphiQL, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const gateway = await startCommand(runtime, [], {});
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ sources { kind } }' }) });
    const body = (await response.json()) as { data: { sources: Array<{ kind: string }> } };
    expect(body.data.sources.map((s) => s.kind).sort()).toEqual(['AEROSPIKE_BACKUP_SERVICE', 'AIVEN', 'DOCSPACE', 'SCALETRADE']);
    // The live page's files were copied beside the bundle.
    const page = await fetch(new URL('/', gateway.url), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    // GraphiQL is a chunk of its own, loaded on the first browser request.
    const graphiql = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('GraphiQL');
    expect(await gateway.stop()).toBe(0);
  });

  describe('with Redis, PostgreSQL, tracing and JWTs configured', () => {
    let schema: TestSchema;
    let helper: Server;
    const received: string[] = [];
    beforeAll(async () => {
      schema = await createTestSchema('production_install');
      // One local server plays the OTLP receiver and the JWT issuer's key set.
      helper = createServer((req, res) => {
        received.push(`${req.method} ${req.url}`);
        req.resume();
        req.on('end', () => res.setHeader('content-type', 'application/json').end(req.url === '/jwks.json' ? '{"keys":[]}' : '{}'));
      });
      await new Promise<void>((resolve) => helper.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await schema?.drop();
      await new Promise<void>((resolve) => helper?.close(() => resolve()));
    });

    it('loads each of them from the bundle', { timeout: 60_000 }, async () => {
      const port = (helper.address() as AddressInfo).port;
      const configFile = join(runtime, 'config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          sources: [{ name: 'aiven-nowhere', kind: 'aiven', baseUrl: 'http://127.0.0.1:9', token: { env: 'AIVEN_TOKEN' }, projects: ['p'] }],
          dataDir: join(runtime, 'data'),
          history: { postgres: { env: 'DATABASE_URL' }, schema: schema.schema },
          pubsub: { redis: { env: 'REDIS_URL' }, keyPrefix: `bg-test-${randomUUID().slice(0, 8)}:` },
          tracing: { otlpEndpoint: `http://127.0.0.1:${port}` },
          auth: { keys: [], anonymousRole: 'viewer', jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: 'https://issuer.test' } },
        }),
      );
      const gateway = await startCommand(runtime, ['--config', configFile], {
        AIVEN_TOKEN: 'not-used',
        DATABASE_URL: schema.url,
        REDIS_URL: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      });
      const ready = (await (await fetch(gateway.url.replace(/\/graphql$/, '/ready'))).json()) as { history: { engine: string; status: string }; redis: { status: string } };
      expect(ready.history).toMatchObject({ engine: 'postgres', status: 'UP' });
      expect(ready.redis.status).toBe('UP');
      // A bearer token makes jose fetch the key set; none matches, so the token is refused.
      const refused = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0In0.c2ln' },
        body: JSON.stringify({ query: '{ sources { kind } }' }),
      });
      expect(refused.status).toBe(401);
      expect(received).toContain('GET /jwks.json');
      const answered = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ sources { name } }' }) });
      expect(((await answered.json()) as { data: unknown }).data).toEqual({ sources: [{ name: 'aiven-nowhere' }] });
      // Spans are flushed to the receiver on the way out.
      expect(await gateway.stop(), gateway.output()).toBe(0);
      expect(received).toContain('POST /v1/traces');
    });
  });
});
