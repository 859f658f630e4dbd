import { spawn, execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The Dockerfile's steps, run on a clean copy (no image can be built here): its COPY lines and its
 * `npm ci` line, then the production start command, queried like a user would.
 */
const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);

async function dockerfileSteps(): Promise<{ copies: string[]; install: string[] }> {
  const text = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const copies = [...text.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  const install = /^RUN (npm ci[^&\n]*)/m.exec(text)![1]!.trim().split(/\s+/);
  return { copies, install };
}

describe('the production install (the Dockerfile steps)', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('installs production dependencies only, starts, answers, and stops cleanly on SIGTERM', { timeout: 180_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'backupgraph-prod-'));
    const { copies, install } = await dockerfileSteps();
    expect(copies).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin', 'src']));
    for (const path of copies) await cp(join(ROOT, path), join(dir, path), { recursive: true });
    await run(install[0]!, install.slice(1), { cwd: dir, timeout: 150_000 });
    await expect(access(join(dir, 'node_modules', 'vitest'))).rejects.toThrow(); // no dev dependencies
    await access(join(dir, 'node_modules', 'tsx'));

    // The production start command, on this Node 24, in demo mode (no config), on a free port.
    const child = spawn(process.execPath, ['bin/backupgraph.js', '--port', '0'], {
      cwd: dir,
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
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
