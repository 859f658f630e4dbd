/**
 * Remembers a pure function's results for the last few thousand distinct arguments. For values the
 * hot path recomputes on every request although they repeat (a service's timestamps, the typename
 * in an ID); the cache is dropped as a whole when full, so it stays bounded whatever callers send.
 */
export function boundedMemo<K, V>(compute: (key: K) => V, maxEntries = 4_096): (key: K) => V {
  let cache = new Map<K, V>();
  return (key) => {
    const known = cache.get(key);
    if (known !== undefined || cache.has(key)) return known as V;
    const value = compute(key);
    if (cache.size >= maxEntries) cache = new Map();
    cache.set(key, value);
    return value;
  };
}
