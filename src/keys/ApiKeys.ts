import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Effect, Layer } from "effect"
import { ApiKeyInvalid, NotFound, ServiceUnavailable } from "../api/Errors.ts"
import type { ApiKeyId, Mode, Scope, TenantId } from "../domain/Ids.ts"
import { randomId, randomToken, sha256 } from "../platform/Crypto.ts"
import { makeTtlCache } from "../platform/TtlCache.ts"
import { unavailable } from "../passwordless/CodeStorePg.ts"

export interface ApiKey {
  readonly id: ApiKeyId
  readonly tenantId: TenantId
  readonly name: string
  readonly mode: Mode
  readonly prefix: string
  readonly scopes: ReadonlyArray<Scope>
  readonly ipAllowlist: ReadonlyArray<string>
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly createdAt: Date
}

export interface NewKey {
  readonly tenantId: TenantId
  readonly name: string
  readonly mode: Mode
  readonly scopes: ReadonlyArray<Scope>
  readonly expiresAt?: Date | null
  readonly ipAllowlist?: ReadonlyArray<string>
}

export class ApiKeys extends Context.Service<ApiKeys, {
  /** Returns the key and its secret; the secret exists only in this return value (stored as SHA-256). */
  readonly create: (input: NewKey) => Effect.Effect<{ readonly key: ApiKey; readonly secret: string }, ServiceUnavailable>
  readonly revoke: (id: ApiKeyId) => Effect.Effect<void, NotFound | ServiceUnavailable>
  /** Resolves a presented secret: unknown, revoked and expired keys are all `ApiKeyInvalid`. */
  readonly authenticate: (secret: string) => Effect.Effect<ApiKey, ApiKeyInvalid | ServiceUnavailable>
}>()("sesame/ApiKeys") {}

const SECRET = /^sk_(live|test)_[A-Za-z0-9_-]{43}$/

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const byHash = (hashHex: string) =>
    unavailable(sql<ApiKey>`SELECT id, tenant_id, name, mode, prefix, scopes, ip_allowlist, expires_at, revoked_at, created_at
      FROM api_keys WHERE secret_hash = ${Buffer.from(hashHex, "hex")}`).pipe(Effect.map((rows) => rows[0]))
  // One second: a revoked key stops working on every process within that (API.md, issue "revoked within 1 s").
  const cache = makeTtlCache(1000, byHash)

  return ApiKeys.of({
    create: Effect.fnUntraced(function* (input) {
      const now = new Date(yield* Clock.currentTimeMillis)
      const secret = `sk_${input.mode}_${randomToken(32)}`
      const key: ApiKey = {
        id: randomId("key") as ApiKeyId,
        tenantId: input.tenantId,
        name: input.name,
        mode: input.mode,
        prefix: secret.slice(0, 12),
        scopes: input.scopes,
        ipAllowlist: input.ipAllowlist ?? [],
        expiresAt: input.expiresAt ?? null,
        revokedAt: null,
        createdAt: now
      }
      yield* unavailable(sql`INSERT INTO api_keys ${sql.insert({
        ...key,
        scopes: sql.json(key.scopes),
        ipAllowlist: sql.json(key.ipAllowlist),
        secretHash: sha256(secret)
      })}`)
      return { key, secret }
    }),
    revoke: Effect.fnUntraced(function* (id) {
      const now = new Date(yield* Clock.currentTimeMillis)
      const rows = yield* unavailable(sql`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now}) WHERE id = ${id} RETURNING id`)
      if (rows.length === 0) return yield* new NotFound({})
    }),
    authenticate: Effect.fnUntraced(function* (secret) {
      if (!SECRET.test(secret)) return yield* new ApiKeyInvalid({})
      const key = yield* cache.get(sha256(secret).toString("hex"))
      const now = yield* Clock.currentTimeMillis
      if (key === undefined || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt.getTime() <= now)) {
        return yield* new ApiKeyInvalid({})
      }
      return key
    })
  })
})

export const layer = Layer.effect(ApiKeys)(make)
