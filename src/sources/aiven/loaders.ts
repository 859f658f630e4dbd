import DataLoader from 'dataloader';
import type { SourceRegistry } from '../registry.js';
import type { Service } from './map.js';
import { isAivenSource, type AivenSource } from './source.js';

/**
 * Per-request batching for Aiven: every service lookup in one GraphQL request that falls in the
 * same project costs one upstream call — a list call when several services (or the whole project)
 * are needed, a single-service GET when only one is.
 */
export interface AivenLoaders {
  /** Key: [source, project] → every service of the project. */
  projectServices: DataLoader<readonly [string, string], Service[], string>;
  /** Key: [source, project, name] → that service (NOT_FOUND error when absent). */
  service: DataLoader<readonly [string, string, string], Service, string>;
}

export function createAivenLoaders(registry: SourceRegistry): AivenLoaders {
  const aiven = (name: string): AivenSource => registry.getAs(name, isAivenSource, 'an Aiven source');
  const projectServices = new DataLoader<readonly [string, string], Service[], string>(
    async (keys) => Promise.all(keys.map(([source, project]) => aiven(source).listServices(project).catch((e: unknown) => toError(e)))),
    { cacheKeyFn: (key) => JSON.stringify(key) },
  );
  const service = new DataLoader<readonly [string, string, string], Service, string>(
    async (keys) => {
      const projectKey = ([source, project]: readonly [string, string, string]) => JSON.stringify([source, project]);
      const wanted = new Map<string, number>();
      for (const key of keys) wanted.set(projectKey(key), (wanted.get(projectKey(key)) ?? 0) + 1);
      return Promise.all(
        keys.map(async (key) => {
          const [source, project, name] = key;
          try {
            if (wanted.get(projectKey(key)) === 1) return await aiven(source).getService(project, name);
            const found = (await projectServices.load([source, project])).find((s) => s.name === name);
            return found ?? (await aiven(source).getService(project, name)); // absent: the upstream's own 404
          } catch (error) {
            return toError(error);
          }
        }),
      );
    },
    { cacheKeyFn: (key) => JSON.stringify(key) },
  );
  return { projectServices, service };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
