import { Repeater } from 'graphql-yoga';
import { GatewayError } from '../../errors.js';
import { stableStringify } from '../../live/poller.js';
import { holdFeeds } from '../../live/subscriptions.js';
import type { Listing } from '../polled.js';
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
      const listing = value as Listing<Service>;
      const service = listing.items.find((s) => s.name === name);
      if (!service) {
        // An unreadable item may be this service: the feed's error event already says so.
        if (!missingReported && listing.failures.length === 0) {
          void push(new GatewayError('NOT_FOUND', `Service ${name} does not exist in project ${project}`, { source: source.name }));
        }
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
