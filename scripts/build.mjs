// The production build: src/ and its dependencies bundled into dist/ (ESM, plain JavaScript), so
// production runs with no transpiler and no node_modules. One bundle instead of ~1,000 modules holds
// about 9 MiB less resident memory at idle, mostly source text V8 keeps for lazy compilation
// (BENCHMARKS.md). Type checking is `npm run typecheck`'s job, not the build's.
import { cpSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const dist = new URL('dist/', root).pathname;

rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root.pathname,
  // The command, and what the benchmarks' gateway child imports.
  entryPoints: ['src/cli.ts', 'src/server.ts', 'src/logger.ts', 'src/release-memory.ts'],
  outdir: dist,
  bundle: true,
  // Lazily imported parts (GraphiQL, OpenTelemetry, Redis, PostgreSQL, JWT) stay in chunks of their own.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // Whitespace and syntax only: names stay, so stack traces in logs still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // pg's optional native binding, loaded only when installed and asked for.
  external: ['pg-native'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The live page's files, where use-progress-page.ts looks for them beside the bundle.
cpSync(new URL('src/page/', root).pathname, new URL('page/', `file://${dist}`).pathname, { recursive: true, filter: (path) => !path.endsWith('.ts') });
