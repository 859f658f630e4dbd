import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'src', 'cli.ts');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

/** One gateway process started through the CLI, as an operator would, on an ephemeral loopback port. */
export interface GatewayProcess {
  url: string;
  pid: number;
  /** Lines the process logged (pino JSON), for assertions on warnings. */
  logs: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

export interface InstanceSet {
  start(): Promise<GatewayProcess>;
  instances: GatewayProcess[];
  close(): Promise<void>;
}

/**
 * Starts gateway processes from one configuration file (secrets through the environment). Every
 * process is killed by close().
 */
export async function gatewayInstances(config: Record<string, unknown>, env: Record<string, string>): Promise<InstanceSet> {
  const dir = await mkdtemp(join(tmpdir(), 'backupgraph-instances-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, dataDir: dir, ...config }));
  const instances: GatewayProcess[] = [];
  const children: ChildProcess[] = [];
  return {
    instances,
    async start() {
      const inherited = { ...process.env };
      for (const name of ['PORT', 'HOST', 'BACKUPGRAPH_CONFIG']) delete inherited[name];
      // Node itself with tsx's loader (not the tsx wrapper, which would survive as a parent while a
      // signal reaches only it): SIGKILL kills the gateway.
      const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI, '--config', file], { cwd: dir, env: { ...inherited, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const logs: string[] = [];
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`gateway did not start: ${logs.join('\n').slice(-2000)}`)), 30_000);
        const lines = createInterface({ input: child.stdout! });
        lines.on('line', (line) => {
          logs.push(line);
          const match = /"graphql":"(http:\/\/[^"]+)"/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`gateway exited (${code}) before starting: ${logs.join('\n').slice(-2000)}`));
        });
      });
      const instance: GatewayProcess = {
        url,
        pid: child.pid!,
        logs,
        exited,
        async kill(signal = 'SIGTERM') {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          await exited;
        },
      };
      instances.push(instance);
      return instance;
    },
    async close() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await gone;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A redis-server of the test's own on a free loopback port (so the shared one is never stopped). */
export async function privateRedis(port: number): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> }> {
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const current = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
      createInterface({ input: current.stdout! }).on('line', (line) => {
        if (/Ready to accept connections/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      current.once('exit', () => reject(new Error('redis-server exited')));
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const current = child;
      if (!current || current.exitCode !== null) return;
      const gone = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGKILL');
      await gone;
    },
  };
}
