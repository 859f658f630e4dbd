import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Child processes of the benchmark (simulator, gateway) and a tiny request/reply protocol over the
 * IPC channel: the parent sends `{ id, type, ... }`, the child answers `{ reply: id, ... }`.
 */

export interface Child {
  proc: ChildProcess;
  /** What the child sent with its `ready` message. */
  ready: Record<string, any>;
  call<T = Record<string, any>>(type: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Asks the child to close, waits for its exit (kills it by pid after a bound). */
  stop(): Promise<void>;
}

/**
 * How a child's TypeScript runs: `tsx` (the default), or `node`: Node's own type stripping
 * (bench/native-ts.mjs), for children that import only compiled code from dist/ besides bench/.
 */
export type ChildRuntime = 'tsx' | 'node';

/**
 * How gateway children run: as production does (`node`, the compiled dist/ from `npm run build`)
 * when dist/server.js exists, otherwise src/ through tsx. `describe` says which, for the output.
 */
export function gatewayBuild(): { runtime: ChildRuntime; env: Record<string, string>; execArgv: string[]; describe: string } {
  const dist = fileURLToPath(new URL('../dist/server.js', import.meta.url));
  if (!existsSync(dist)) return { runtime: 'tsx', env: {}, execArgv: [], describe: 'src/ through tsx (no dist/: run `npm run build` to measure the production build)' };
  // BENCH_GATEWAY_NODE_FLAGS: other Node flags than production's (space-separated; empty for none).
  const override = process.env['BENCH_GATEWAY_NODE_FLAGS'];
  const execArgv = override === undefined ? productionNodeFlags() : override.split(/\s+/).filter(Boolean);
  return {
    runtime: 'node',
    env: { BENCH_GATEWAY_BUILD: 'dist' },
    execArgv,
    describe: `the dist/ bundle on plain node ${execArgv.join(' ')}, no tsx (as \`npm run start:prod\`; dist/server.js built ${statSync(dist).mtime.toISOString()})`,
  };
}

/** Node's flags in `npm run start:prod` (the Dockerfile's CMD has the same): production's heap settings. */
function productionNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> };
  return (pkg.scripts['start:prod'] ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

/** How long a child may take to say `ready`, and a program (with its arguments) to run node under. */
export interface ChildOptions {
  readyTimeoutMs?: number;
  /** E.g. `['valgrind', '--tool=callgrind']`: the child's node runs as the last argument of this. */
  wrapper?: string[];
}

export async function startChild(
  script: string,
  env: Record<string, string>,
  name: string,
  extraExecArgv: string[] = [],
  runtime: ChildRuntime = 'tsx',
  options: ChildOptions = {},
): Promise<Child> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const loader = runtime === 'tsx' ? 'tsx' : fileURLToPath(new URL('./native-ts.mjs', import.meta.url));
  // A loader for the .ts child; --expose-gc so the gateway can collect before reporting its memory.
  const nodeArgv = ['--import', loader, '--expose-gc', ...extraExecArgv];
  const [wrapper, ...wrapperArgv] = options.wrapper ?? [];
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const proc = fork(path, [], {
    // fork() runs `execPath ...execArgv script`: a wrapper goes first and runs this node.
    ...(wrapper ? { execPath: wrapper, execArgv: [...wrapperArgv, process.execPath, ...nodeArgv] } : { execArgv: nodeArgv }),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) process.stderr.write(`[${name} stderr] ${line}\n`);
  });
  let seq = 0;
  const pending = new Map<number, (message: Record<string, any>) => void>();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    proc.on('message', (message: Record<string, any>) => {
      if (message['type'] === 'ready') {
        clearTimeout(timer);
        resolve(message);
      } else if (typeof message['reply'] === 'number') {
        pending.get(message['reply'])?.(message);
        pending.delete(message['reply']);
      }
    });
  });
  return {
    proc,
    ready,
    call(type, args = {}, timeoutMs = 60_000) {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: no reply to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (message) => {
          clearTimeout(timer);
          resolve(message as never);
        });
        proc.send({ ...args, id, type });
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.send({ id: ++seq, type: 'close' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: answers the parent's calls; `close` runs `onClose` and exits. */
export function serveParent(handlers: Record<string, (message: Record<string, any>) => unknown>, onClose: () => Promise<void>): void {
  const send = (message: Record<string, unknown>) => process.send?.(message);
  const builtin: Record<string, () => unknown> = {
    // CPU time of this process so far (user + system), in microseconds.
    cpu: () => ({ micros: process.cpuUsage().user + process.cpuUsage().system }),
    // Resident set size now, without a GC first (for sampling under load).
    rss: () => ({ rss: process.memoryUsage.rss() }),
    // Memory by kind now, without a GC first, and V8's heap by space (what grows under load).
    heap: () => ({ usage: process.memoryUsage(), spaces: getHeapSpaceStatistics().map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size })) }),
    // The same, split (Linux): anonymous memory (this process's own) and file-backed pages (the node
    // binary and libraries, shared in the page cache with every other node process on the host).
    rssParts: () => {
      const status = readFileSync('/proc/self/status', 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
      return { anon: kib('RssAnon'), file: kib('RssFile') + kib('RssShmem') };
    },
  };
  process.on('message', (message: Record<string, any>) => {
    void (async () => {
      if (message['type'] === 'close') {
        await onClose().catch(() => undefined);
        process.exit(0);
      }
      const handler = handlers[message['type']] ?? builtin[message['type']];
      try {
        const result = handler ? await handler(message) : { error: `unknown call ${message['type']}` };
        send({ ...(result as Record<string, unknown>), reply: message['id'] });
      } catch (error) {
        send({ error: String(error), reply: message['id'] });
      }
    })();
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    void onClose().finally(() => process.exit(0));
  });
}
