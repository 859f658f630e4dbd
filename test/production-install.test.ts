import { spawn, execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The Dockerfile's steps, run on clean copies (no image can be built here): each stage's COPY lines
 * and npm commands (`npm ci …`, `npm run build`) in a directory of its own, `COPY --from=build`
 * taken from the build stage's directory, then the production start command, queried like a user
 * would. Other RUN steps (apt-get, mkdir, npm cache clean) are the image's business and skipped.
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

describe('the production install (the Dockerfile steps)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('builds, installs production dependencies only, starts without a transpiler, answers, and stops cleanly on SIGTERM', { timeout: 300_000 }, async () => {
    const stages = await dockerfileStages();
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    const stageDirs = new Map<string, string>();
    let runtime = '';
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

    // The image holds the compiled gateway, production dependencies and no TypeScript sources or compiler.
    await access(join(runtime, 'dist', 'cli.js'));
    await access(join(runtime, 'dist', 'page', 'index.html'));
    await expect(access(join(runtime, 'src'))).rejects.toThrow();
    await expect(access(join(runtime, 'node_modules', 'vitest'))).rejects.toThrow(); // no dev dependencies
    await expect(access(join(runtime, 'node_modules', 'typescript'))).rejects.toThrow();

    // The production start command (the Dockerfile's CMD), on this Node 24, in demo mode (no config), on a free port.
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(cmd[0]).toBe('node');
    const child = spawn(process.execPath, [...cmd.slice(1), '--port', '0'], {
      cwd: runtime,
      env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let url: string | undefined;
    for (let i = 0; i < 300 && !url; i++) {
      url = /"graphql":"(http:[^"]+)"/.exec(output)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, output).toBeDefined();
    const response = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ sources { kind } }' }) });
    const body = (await response.json()) as { data: { sources: Array<{ kind: string }> } };
    expect(body.data.sources.map((s) => s.kind).sort()).toEqual(['AEROSPIKE_BACKUP_SERVICE', 'AIVEN', 'DOCSPACE', 'SCALETRADE']);
    // The live page's files were copied beside the compiled code.
    const page = await fetch(new URL('/', url!), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
