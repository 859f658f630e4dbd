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
      const perProject = new Map<string, number>();
      for (const [source, project] of keys) perProject.set(JSON.stringify([source, project]), (perProject.get(JSON.stringify([source, project])) ?? 0) + 1);
      return Promise.all(
        keys.map(async ([source, project, name]) => {
          try {
            if (perProject.get(JSON.stringify([source, project])) === 1) return await aiven(source).getService(project, name);
            const all = await projectServices.load([source, project]);
            const found = all.find((s) => s.name === name);
            if (!found) return await aiven(source).getService(project, name); // the upstream's own 404
            return found;
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
