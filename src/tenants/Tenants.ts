import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { NotFound, ServiceUnavailable } from "../api/Errors.ts"
import type { TenantId } from "../domain/Ids.ts"
import { policyOf, type Policy, TenantSettings } from "../domain/TenantSettings.ts"
import { randomId } from "../platform/Crypto.ts"
import { makeTtlCache } from "../platform/TtlCache.ts"
import { unavailable } from "../passwordless/CodeStorePg.ts"

export interface Tenant {
  readonly id: TenantId
  readonly name: string
  readonly settings: TenantSettings
  readonly policy: Policy
  readonly createdAt: Date
}

const decodeSettings = Schema.decodeUnknownEffect(TenantSettings)

export class Tenants extends Context.Service<Tenants, {
  readonly create: (input: { readonly name: string; readonly settings: TenantSettings }) => Effect.Effect<Tenant, ServiceUnavailable>
  /** Cached for one second: settings changes reach every process within that. */
  readonly get: (id: TenantId) => Effect.Effect<Tenant, NotFound | ServiceUnavailable>
  readonly count: Effect.Effect<number, ServiceUnavailable>
  /** Drops this process's cached copy (after a settings change made here); other processes see it within 1 s. */
  readonly invalidate: (id: TenantId) => Effect.Effect<void>
}>()("sesame/Tenants") {}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const load = (id: TenantId) =>
    unavailable(sql<{ id: TenantId; name: string; settings: unknown; createdAt: Date }>`
      SELECT id, name, settings, created_at FROM tenants WHERE id = ${id}`).pipe(
      Effect.flatMap((rows) => rows[0] === undefined ? Effect.fail(new NotFound({})) : Effect.succeed(rows[0])),
      Effect.flatMap((row) =>
        decodeSettings(row.settings).pipe(
          Effect.orDie, // we wrote these settings ourselves: a decode failure is a bug
          Effect.map((settings): Tenant => ({ ...row, settings, policy: policyOf(settings, row.name) }))
        ))
    )
  const cache = makeTtlCache(1000, load)
  return Tenants.of({
    create: Effect.fnUntraced(function* (input) {
      const now = new Date(yield* Clock.currentTimeMillis)
      const id = randomId("ten") as TenantId
      yield* unavailable(sql`INSERT INTO tenants ${sql.insert({ id, name: input.name, settings: sql.json(input.settings), createdAt: now })}`)
      return { id, name: input.name, settings: input.settings, policy: policyOf(input.settings, input.name), createdAt: now }
    }),
    get: cache.get,
    invalidate: cache.invalidate,
    count: unavailable(sql<{ n: number }>`SELECT count(*)::int AS n FROM tenants`).pipe(Effect.map((r) => r[0]?.n ?? 0))
  })
})

export const layer = Layer.effect(Tenants)(make)
