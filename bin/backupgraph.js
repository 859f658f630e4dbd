#!/usr/bin/env node
// The `backupgraph` command: runs the TypeScript sources through tsx (no build step).
// The Node check comes first, before anything that needs Node 24 (node:sqlite) is loaded.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `backupgraph needs Node 24 or newer; this is Node ${process.versions.node}.\n` +
      'Run it with `npm start` (the project pins its own Node 24), or install Node 24 LTS.',
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli.ts');
