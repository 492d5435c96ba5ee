import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { NotFound, ServiceUnavailable } from "../api/Errors.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import { policyOf, type Policy, TenantSettings } from "../domain/TenantSettings.ts"
import { randomId } from "../platform/Crypto.ts"
import { makeTtlCache } from "../platform/TtlCache.ts"
import { unavailable } from "../platform/Sql.ts"

/** One mode's settings document and the policy its sends, verifies and sessions use. */
export interface ModeSettings {
  readonly settings: TenantSettings
  readonly policy: Policy
}

export interface Tenant {
  readonly id: TenantId
  /** Shared by both modes (the default `appName`); only a live key may change it. */
  readonly name: string
  /**
   * Live and test keep separate settings (issue 10): whatever a test key changes reaches test
   * sign-ins only. Every consumer reads the mode it acts for: `tenant.modes[caller.mode].policy`.
   */
  readonly modes: { readonly [M in Mode]: ModeSettings }
  readonly createdAt: Date
}

const decodeSettings = Schema.decodeUnknownEffect(TenantSettings)

const modeOf = (settings: TenantSettings, name: string): ModeSettings => ({ settings, policy: policyOf(settings, name) })

export class Tenants extends Context.Service<Tenants, {
  /** A new tenant whose two modes start with the same `settings`. */
  readonly create: (input: { readonly name: string; readonly settings: TenantSettings }) => Effect.Effect<Tenant, ServiceUnavailable>
  /** Cached for one second (both modes in one entry): settings changes reach every process within that. */
  readonly get: (id: TenantId) => Effect.Effect<Tenant, NotFound | ServiceUnavailable>
  readonly count: Effect.Effect<number, ServiceUnavailable>
  /** Drops this process's cached copy (after a settings change made here); other processes see it within 1 s. */
  readonly invalidate: (id: TenantId) => Effect.Effect<void>
}>()("sesame/Tenants") {}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const load = (id: TenantId) =>
    unavailable(sql<{ id: TenantId; name: string; settings: unknown; testSettings: unknown; createdAt: Date }>`
      SELECT id, name, settings, test_settings, created_at FROM tenants WHERE id = ${id}`).pipe(
      Effect.flatMap((rows) => rows[0] === undefined ? Effect.fail(new NotFound({})) : Effect.succeed(rows[0])),
      Effect.flatMap((row) =>
        Effect.all([decodeSettings(row.settings), decodeSettings(row.testSettings)]).pipe(
          Effect.orDie, // we wrote these settings ourselves: a decode failure is a bug
          Effect.map(([live, test]): Tenant => ({
            id: row.id, name: row.name, createdAt: row.createdAt,
            modes: { live: modeOf(live, row.name), test: modeOf(test, row.name) }
          }))
        ))
    )
  const cache = makeTtlCache(1000, load)
  return Tenants.of({
    create: Effect.fnUntraced(function* (input) {
      const now = new Date(yield* Clock.currentTimeMillis)
      const id = randomId("ten") as TenantId
      const settings = sql.json(input.settings)
      yield* unavailable(sql`INSERT INTO tenants ${sql.insert({ id, name: input.name, settings, testSettings: settings, createdAt: now })}`)
      const mode = modeOf(input.settings, input.name)
      return { id, name: input.name, modes: { live: mode, test: mode }, createdAt: now }
    }),
    get: cache.get,
    invalidate: cache.invalidate,
    count: unavailable(sql<{ n: number }>`SELECT count(*)::int AS n FROM tenants`).pipe(Effect.map((r) => r[0]?.n ?? 0))
  })
})

export const layer = Layer.effect(Tenants)(make)
