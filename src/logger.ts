import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one structured logger (JSON lines on stdout). Parts that can fail get a child with their
 * `source` (or `component`) bound, so every line says where it came from. Authorization values
 * and tokens are censored should one ever reach a log call.
 */
export function createLogger(level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'backupgraph' },
    redact: { paths: ['*.authorization', '*.token', '*.password', '*.__token', 'headers.*'], censor: '[redacted]' },
  });
}

/** For tests and embedding: logs nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
