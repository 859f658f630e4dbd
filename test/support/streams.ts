import type { Client } from 'graphql-ws';

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

/** Collects events of a graphql-ws subscription until `until` holds or the bound is reached. */
export function collect<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): { events: GraphQLResponse<T>[]; done: Promise<void>; next(predicate: (e: GraphQLResponse<T>) => boolean, timeoutMs?: number): Promise<GraphQLResponse<T>>; stop(): void } {
  const events: GraphQLResponse<T>[] = [];
  const waiters: Array<{ predicate: (e: GraphQLResponse<T>) => boolean; resolve: (e: GraphQLResponse<T>) => void }> = [];
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (event) => {
        const e = event as GraphQLResponse<T>;
        events.push(e);
        for (const w of [...waiters]) if (w.predicate(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      },
      error: (error) => rejectDone(error),
      complete: () => resolveDone(),
    },
  );
  return {
    events,
    done,
    stop: unsubscribe,
    next(predicate, timeoutMs = 10_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 2000)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      });
    },
  };
}

/** Waits until check() returns a truthy value, polling every 20 ms, at most timeoutMs. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
