import { Repeater } from 'graphql-yoga';
import { GatewayError } from '../../errors.js';
import { stableStringify } from '../../live/poller.js';
import { holdFeeds } from '../../live/subscriptions.js';
import type { AivenService } from './client.js';
import type { Service } from './map.js';
import type { AivenSource } from './source.js';

/** Change key of a mapped service; mapped services are shared by all watchers of one poll, so each is serialised once. */
const changeKeys = new WeakMap<Service, string>();

function changeKey(service: Service): string {
  let key = changeKeys.get(service);
  if (key === undefined) {
    key = stableStringify(service);
    changeKeys.set(service, key);
  }
  return key;
}

/** serviceUpdated: the service at once, then on every change, from the shared project feed. */
export function watchService(source: AivenSource, project: string, name: string): AsyncIterable<Service | Error> {
  const feed = source.projectFeed(project);
  return new Repeater<Service | Error>(async (push, stop) => {
    const abort = new AbortController();
    void stop.then(() => abort.abort());
    let lastSent: string | undefined;
    let missingReported = false;
    holdFeeds([feed], abort.signal, source.name, push, (value) => {
      const service = source.observeProject(project, value as AivenService[]).find((s) => s.name === name);
      if (!service) {
        if (!missingReported) void push(new GatewayError('NOT_FOUND', `Service ${name} does not exist in project ${project}`, { source: source.name }));
        missingReported = true;
        lastSent = undefined;
        return;
      }
      missingReported = false;
      const key = changeKey(service);
      if (key === lastSent) return;
      lastSent = key;
      void push(service);
    });
    await stop;
  });
}
