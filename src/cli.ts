#!/usr/bin/env node
/**
 * backupgraph [--config FILE] [--host H] [--port N] [--version] [--help]
 * Also PORT, HOST and BACKUPGRAPH_CONFIG. No configuration at all ⇒ demo mode.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OPEN_AUTH } from './auth.js';
import { ConfigError, loadConfigFile, type GatewayConfig } from './config.js';
import { DEMO_QUERY, startDemo, type Demo } from './demo.js';
import { createLogger } from './logger.js';
import { releaseMemoryWhenIdle } from './release-memory.js';
import { createGateway } from './server.js';

const USAGE = `usage: backupgraph [--config FILE] [--host HOST] [--port PORT]

  -c, --config FILE   configuration file (JSON or YAML); without one: demo mode on built-in simulators
      --host HOST     interface to listen on (default 127.0.0.1)
  -p, --port PORT     port to listen on (default 4000)
  -v, --version       print the version and exit
  -h, --help          print this help and exit

Environment:
  BACKUPGRAPH_CONFIG  configuration file, when --config is not given
  HOST, PORT          listen address, when --host / --port are not given; both win over the file
  LOG_LEVEL           trace, debug, info (default), warn, error, silent
  and every variable the configuration names in { "env": "NAME" } (tokens, keys)`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    console.log(`backupgraph ${version()}`);
    return;
  }
  const configPath = values.config ?? process.env['BACKUPGRAPH_CONFIG'];
  const portText = values.port ?? process.env['PORT'];
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    console.error(`--port / PORT: expected a port number 0-65535, got "${portText}"`);
    process.exit(2);
  }
  const host = values.host ?? process.env['HOST'];

  let config: GatewayConfig;
  let demo: Demo | undefined;
  try {
    if (configPath) {
      config = await loadConfigFile(configPath);
    } else {
      demo = await startDemo({ host: '127.0.0.1', port: 4000 });
      config = demo.config;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`backupgraph: invalid configuration:\n${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger();
  // Precedence: command line, then environment, then the file — said out loud when they differ.
  if (host !== undefined && configPath && host !== config.listen.host) {
    logger.info({ file: config.listen.host, used: host }, `${values.host ? '--host' : 'HOST'} overrides listen.host from the file`);
  }
  if (port !== undefined && configPath && port !== config.listen.port) {
    logger.info({ file: config.listen.port, used: port }, `${values.port ? '--port' : 'PORT'} overrides listen.port from the file`);
  }
  config = { ...config, listen: { host: host ?? config.listen.host, port: port ?? config.listen.port } };
  const auth = config.auth ?? OPEN_AUTH;
  if (!isLoopback(config.listen.host) && auth.keys.length === 0) {
    logger.warn({ host: config.listen.host }, 'listening beyond loopback without API keys: anyone who reaches this port can query the gateway');
  }
  if (auth.anonymousRole === 'operator') logger.warn('auth.anonymousRole is operator: anyone who reaches this port can run mutations');
  logger.info(
    { keys: auth.keys.length, anonymousRole: auth.anonymousRole },
    auth.anonymousRole === 'none'
      ? 'API keys required'
      : `callers without a key are ${auth.anonymousRole}s${auth.anonymousRole === 'viewer' ? ' (mutations need an operator key)' : ''}`,
  );

  const gateway = await createGateway(config, { logger, ...(demo ? { defaultQuery: DEMO_QUERY } : {}) });
  // The process is the gateway's alone here (tests and benchmarks embed createGateway instead).
  const stopReleasing = releaseMemoryWhenIdle({ logger: logger.child({ component: 'memory' }) });
  if (demo) logger.info({ simulators: demo.describe() }, 'no configuration given: DEMO MODE with built-in upstream simulators');
  logger.info(
    { graphql: gateway.url, health: gateway.url.replace(/\/graphql$/, '/health'), ready: gateway.url.replace(/\/graphql$/, '/ready'), history: config.history.postgres ? `postgres (schema ${config.history.postgres.schema})` : config.history.path, ...(config.pubsub ? { pubsub: 'redis' } : {}) },
    `GraphQL (HTTP, SSE, graphql-ws) and GraphiQL at ${gateway.url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'closing subscriptions and sockets');
    stopReleasing();
    await gateway.close();
    await demo?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

main().catch((error: unknown) => {
  const { code, address, port } = (error ?? {}) as { code?: string; address?: string; port?: number };
  const message =
    code === 'EADDRINUSE'
      ? `port ${port} on ${address} is already in use (choose another with --port or PORT)`
      : error instanceof Error
        ? error.message
        : String(error);
  console.error(`backupgraph: failed to start: ${message}`);
  process.exit(1);
});
