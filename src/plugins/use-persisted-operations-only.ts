import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../errors.js';

/**
 * Persisted operations: a JSON file mapping ids (e.g. sha256 hashes from a client build) to
 * documents; requests name one with `extensions.persistedQuery.sha256Hash` (or `documentId`).
 * With `only`, nothing else runs — on HTTP and SSE through yoga's plugin, on graphql-ws through
 * `resolve` below, which the WebSocket transport calls before parsing.
 */
export interface PersistedOperations {
  plugin: Plugin;
  /** The document a graphql-ws subscribe message asks for; throws when only persisted ones may run. */
  resolve(params: { query?: string | null; extensions?: Record<string, unknown> | null }): string;
}

export function persistedOperations(options: { file: string; only: boolean }): PersistedOperations {
  const documents = new Map(Object.entries(JSON.parse(readFileSync(options.file, 'utf8')) as Record<string, string>));
  const idOf = (extensions: Record<string, unknown> | null | undefined, documentId?: unknown): string | undefined => {
    const hash = (extensions?.['persistedQuery'] as { sha256Hash?: unknown } | undefined)?.sha256Hash;
    return typeof hash === 'string' ? hash : typeof documentId === 'string' ? documentId : undefined;
  };
  return {
    plugin: usePersistedOperations({
      getPersistedOperation: (key) => documents.get(key) ?? null,
      allowArbitraryOperations: !options.only,
      extractPersistedOperationId: (params) => idOf(params.extensions, (params as { documentId?: unknown }).documentId) ?? null,
    }) as Plugin,
    resolve(params) {
      const id = idOf(params.extensions);
      if (id !== undefined) {
        const document = documents.get(id);
        if (document === undefined) throw new GatewayError('BAD_USER_INPUT', 'PersistedQueryNotFound');
        return document;
      }
      if (options.only) throw new GatewayError('BAD_USER_INPUT', 'PersistedQueryOnly: this gateway runs persisted operations only');
      return params.query ?? '';
    },
  };
}
