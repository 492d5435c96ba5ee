import { Clock, Effect } from "effect"

/**
 * A tiny per-process read-through cache with a short TTL, so hot paths (API key and tenant look-ups)
 * cost no database round trip, while a revoke or settings change is seen everywhere within `ttlMs`.
 */
export const makeTtlCache = <K, V, E, R>(ttlMs: number, load: (key: K) => Effect.Effect<V, E, R>, maxEntries = 10_000) => {
  const entries = new Map<K, { readonly value: V; readonly until: number }>()
  return {
    get: (key: K): Effect.Effect<V, E, R> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const hit = entries.get(key)
        if (hit !== undefined && hit.until > now) return Effect.succeed(hit.value)
        return Effect.tap(load(key), (value) =>
          Effect.sync(() => {
            if (entries.size >= maxEntries) entries.clear()
            entries.set(key, { value, until: now + ttlMs })
          }))
      }),
    invalidate: (key: K) => Effect.sync(() => void entries.delete(key)),
    clear: Effect.sync(() => entries.clear())
  }
}
