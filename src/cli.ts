#!/usr/bin/env node
/**
 * backupgraph [--config FILE] [--host H] [--port N]
 * Also PORT, HOST and BACKUPGRAPH_CONFIG. No configuration at all ⇒ demo mode.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, type GatewayConfig } from './config.js';
import { DEMO_QUERY, startDemo, type Demo } from './demo.js';
import { createLogger } from './logger.js';
import { createGateway } from './server.js';

const USAGE = 'usage: backupgraph [--config FILE] [--host HOST] [--port PORT]';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { config: { type: 'string', short: 'c' }, host: { type: 'string' }, port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } },
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
  config = { ...config, listen: { host: host ?? config.listen.host, port: port ?? config.listen.port } };

  const logger = createLogger();
  const gateway = await createGateway(config, { logger, ...(demo ? { defaultQuery: DEMO_QUERY } : {}) });
  if (demo) logger.info({ simulators: demo.describe() }, 'no configuration given: DEMO MODE with built-in upstream simulators');
  logger.info(
    { graphql: gateway.url, health: gateway.url.replace(/\/graphql$/, '/health'), ready: gateway.url.replace(/\/graphql$/, '/ready'), history: config.history.path },
    `GraphQL (HTTP, SSE, graphql-ws) and GraphiQL at ${gateway.url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'closing subscriptions and sockets');
    await gateway.close();
    await demo?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('backupgraph: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
