import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/harness.js';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(ROOT, 'src', 'cli.ts');
/** The machine's own Node (older than the pinned one on these machines). */
const SYSTEM_NODE = '/usr/bin/node';

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Run {
  const child = spawn(TSX, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, PORT: '', BACKUPGRAPH_CONFIG: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** The pino JSON lines of an output (other lines, e.g. plain stderr, are skipped). */
function logLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe('the backupgraph command', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backupgraph-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 on an invalid config file, naming the bad key', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ sources: [{ name: 'a', kind: 'aiven', token: { env: 'X' }, poll: { idleMs: -1 } }] }));
    const r = run(['--config', file], { cwd: dir });
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/invalid configuration:\nsources\[0\]\.poll\.idleMs: /);
  });

  it('exits 1 when a secret variable is missing, and 2 on a bad --port', async () => {
    const file = join(dir, 'env.json');
    await writeFile(file, JSON.stringify({ sources: [{ name: 'a', kind: 'aiven', token: { env: 'BG_TEST_UNSET_TOKEN' } }] }));
    const r = run([], { cwd: dir, env: { BACKUPGRAPH_CONFIG: file } });
    expect(await r.exit).toBe(1);
    expect(r.output()).toContain('sources[0].token: environment variable BG_TEST_UNSET_TOKEN is not set');
    const p = run(['--port', 'eighty'], { cwd: dir });
    expect(await p.exit).toBe(2);
    expect(p.output()).toMatch(/--port \/ PORT: expected a port number/);
  });

  it('prints its version and a help that lists options and environment variables', async () => {
    const v = run(['--version'], { cwd: dir });
    expect(await v.exit).toBe(0);
    expect(v.output().trim()).toMatch(/^backupgraph \d+\.\d+\.\d+$/);
    const h = run(['--help'], { cwd: dir });
    expect(await h.exit).toBe(0);
    for (const word of ['--config', '--host', '--port', '--version', 'BACKUPGRAPH_CONFIG', 'HOST, PORT', 'LOG_LEVEL']) expect(h.output()).toContain(word);
  });

  it('says in one line that the port is taken, without a stack trace', async () => {
    const blocker = createNetServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run(['--port', String(port)], { cwd: dir });
      expect(await r.exit).toBe(1);
      const errors = r.output().split('\n').filter((line) => line.startsWith('backupgraph: failed to start'));
      expect(errors).toEqual([`backupgraph: failed to start: port ${port} on 127.0.0.1 is already in use (choose another with --port or PORT)`]);
      expect(r.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it.skipIf(Number(/^v(\d+)/.exec(execFileSync(SYSTEM_NODE, ['--version']).toString())?.[1]) >= 24)(
    'refuses a Node older than 24 with a message that says which it needs',
    async () => {
      const child = spawn(SYSTEM_NODE, [join(ROOT, 'bin', 'backupgraph.js'), '--version'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stderr!.on('data', (d) => (output += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(output).toMatch(/^backupgraph needs Node 24 or newer; this is Node \d+/);
      expect(output).not.toContain('ERR_UNKNOWN_BUILTIN_MODULE');
    },
  );

  it('serves a moving demo with no configuration, and exits 0 on SIGTERM closing subscriptions', async () => {
    const r = run(['--port', '0'], { cwd: dir });
    try {
      // Logs are pino JSON lines on stdout; the start-up line carries the URL as a field and in its message.
      const startup = await eventually(() => logLines(r.output()).find((l) => typeof l['graphql'] === 'string' && /GraphiQL at http:\/\//.test(String(l['msg']))), 20_000, 'the start-up line');
      const url = startup['graphql'] as string;
      expect(startup['msg']).toBe(`GraphQL (HTTP, SSE, graphql-ws) and GraphiQL at ${url}`);
      expect(r.output()).toContain('DEMO MODE');
      expect(logLines(r.output()).some((l) => String(l['msg']).includes('DEMO MODE'))).toBe(true);
      const percents = async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ aiven(source: "aiven-demo") { services { edges { node { nodes { restore { status progress { percent } } } } } } } }' }),
        });
        const body = (await response.json()) as any;
        return JSON.stringify(body.data.aiven.services.edges.flatMap((e: any) => e.node.nodes.map((n: any) => n.restore?.progress.percent ?? null)));
      };
      const before = await percents();
      expect(before).toMatch(/\d/); // some node is restoring right away
      await eventually(async () => (await percents()) !== before, 10_000, 'progress to move');

      const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
      let completed = false;
      let events = 0;
      client.subscribe({ query: 'subscription { operationsChanged { change } }' }, { next: () => void events++, error: () => (completed = true), complete: () => (completed = true) });
      await eventually(() => events > 0, 10_000, 'a subscription event');
      r.child.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      await eventually(() => completed, 5_000, 'the subscription to end');
      await client.dispose();
    } finally {
      r.child.kill('SIGKILL');
    }
  });
});
