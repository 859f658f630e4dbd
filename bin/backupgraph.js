#!/usr/bin/env node
// The `backupgraph` command: runs the compiled gateway in dist/ (`npm run build`), no transpiler.
// The Node check comes first, before anything that needs Node 24 (node:sqlite) is loaded.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `backupgraph needs Node 24 or newer; this is Node ${process.versions.node}.\n` +
      'Run it with `npm start` (the project pins its own Node 24), or install Node 24 LTS.',
  );
  process.exit(1);
}
const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('backupgraph: dist/ is missing; run `npm run build` first (or `npm start` to run the sources through tsx).');
  process.exit(1);
}
await import(cli.href);
