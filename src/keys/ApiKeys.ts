import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Data, Effect, Layer, Schedule } from "effect"
import { NotFound, ServiceUnavailable } from "../api/Errors.ts"
import type { ApiKeyId, Mode, Scope, TenantId } from "../domain/Ids.ts"
import { randomId, randomToken, sha256 } from "../platform/Crypto.ts"
import { makeTtlCache } from "../platform/TtlCache.ts"
import { unavailable } from "../platform/Sql.ts"

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
  readonly lastUsedAt?: Date | null
}

export interface NewKey {
  readonly tenantId: TenantId
  readonly name: string
  readonly mode: Mode
  readonly scopes: ReadonlyArray<Scope>
  readonly expiresAt?: Date | null
  readonly ipAllowlist?: ReadonlyArray<string>
}

/**
 * Why a presented key was refused. Native callers see one `API_KEY_INVALID` for all three (a caller
 * learns nothing about keys it does not hold); a compatibility adapter whose product tells an inactive
 * key from an unknown one (Auth1: 401 vs 403) reads the reason.
 */
export class KeyRefused extends Data.TaggedError("KeyRefused")<{ readonly reason: "unknown" | "revoked" | "expired" }> {}

export class ApiKeys extends Context.Service<ApiKeys, {
  /** Returns the key and its secret; the secret exists only in this return value (stored as SHA-256). */
  readonly create: (input: NewKey) => Effect.Effect<{ readonly key: ApiKey; readonly secret: string }, ServiceUnavailable>
  /** Revokes a key (of that tenant and mode, when `owner` is given); every process refuses it within 1 s. */
  readonly revoke: (
    id: ApiKeyId,
    owner?: { readonly tenantId: TenantId; readonly mode: Mode }
  ) => Effect.Effect<void, NotFound | ServiceUnavailable>
  /** Resolves a presented secret; an unknown, revoked or expired key is `KeyRefused` with its reason. */
  readonly authenticate: (secret: string) => Effect.Effect<ApiKey, KeyRefused | ServiceUnavailable>
  /** The same checks for a key named by id (a client-credentials bearer carries the id, ClientCredentials.ts). */
  readonly authenticateId: (id: ApiKeyId) => Effect.Effect<ApiKey, KeyRefused | ServiceUnavailable>
  /** The tenant's keys of one mode, newest first, revoked ones included. */
  readonly list: (tenantId: TenantId, mode: Mode) => Effect.Effect<ReadonlyArray<ApiKey>, ServiceUnavailable>
}>()("sesame/ApiKeys") {}

const SECRET = /^sk_(live|test)_[A-Za-z0-9_-]{43}$/
const COLUMNS = "id, tenant_id, name, mode, prefix, scopes, ip_allowlist, expires_at, revoked_at, created_at, last_used_at"
/** How often each process writes the `last_used_at` it saw (one statement for every key used meanwhile). */
const LAST_USED_FLUSH = "2 seconds"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.unsafe(COLUMNS)
  const byHash = (hashHex: string) =>
    unavailable(sql<ApiKey>`SELECT ${cols} FROM api_keys WHERE secret_hash = ${Buffer.from(hashHex, "hex")}`).pipe(
      Effect.map((rows) => rows[0])
    )
  // One second: a revoked key stops working on every process within that (API.md, issue "revoked within 1 s"),
  // and authentication costs no database round trip in between.
  const cache = makeTtlCache(1000, byHash)
  const byIdCache = makeTtlCache(1000, (id: ApiKeyId) =>
    unavailable(sql<ApiKey>`SELECT ${cols} FROM api_keys WHERE id = ${id}`).pipe(Effect.map((rows) => rows[0])))

  // lastUsedAt without a write per request: remembered in memory, flushed in the background.
  const used = new Map<string, { readonly tenantId: TenantId; readonly at: number }>()
  const flush = Effect.suspend(() => {
    if (used.size === 0) return Effect.void
    const batch = [...used.entries()]
    used.clear()
    return sql`UPDATE api_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, u.at), u.at)
      FROM unnest(${batch.map(([, v]) => v.tenantId)}::text[], ${batch.map(([id]) => id)}::text[],
                  ${batch.map(([, v]) => new Date(v.at).toISOString())}::timestamptz[]) AS u(tenant_id, id, at)
      WHERE k.tenant_id = u.tenant_id AND k.id = u.id`.pipe(
      Effect.asVoid,
      Effect.catch((error) => Effect.logWarning("could not record API keys' last use", error))
    )
  })
  yield* Effect.forkScoped(Effect.repeat(Effect.delay(flush, LAST_USED_FLUSH), Schedule.forever))
  yield* Effect.addFinalizer(() => flush)

  const admit = (key: ApiKey | undefined) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (key === undefined) return Effect.fail(new KeyRefused({ reason: "unknown" }))
      if (key.revokedAt !== null) return Effect.fail(new KeyRefused({ reason: "revoked" }))
      if (key.expiresAt !== null && key.expiresAt.getTime() <= now) return Effect.fail(new KeyRefused({ reason: "expired" }))
      used.set(key.id, { tenantId: key.tenantId, at: now })
      return Effect.succeed(key)
    })

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
      return { key: { ...key, lastUsedAt: null }, secret }
    }),
    revoke: Effect.fnUntraced(function* (id, owner) {
      const now = new Date(yield* Clock.currentTimeMillis)
      const rows = yield* unavailable(owner === undefined
        ? sql`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now}) WHERE id = ${id} RETURNING id`
        : sql`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now})
            WHERE tenant_id = ${owner.tenantId} AND mode = ${owner.mode} AND id = ${id} RETURNING id`)
      if (rows.length === 0) return yield* new NotFound({})
      // this process refuses it at once; the others within the cache's second
      yield* cache.clear
      yield* byIdCache.clear
    }),
    authenticate: Effect.fnUntraced(function* (secret) {
      if (!SECRET.test(secret)) return yield* new KeyRefused({ reason: "unknown" })
      return yield* admit(yield* cache.get(sha256(secret).toString("hex")))
    }),
    authenticateId: (id) => Effect.flatMap(byIdCache.get(id), admit),
    list: (tenantId, mode) =>
      unavailable(sql<ApiKey>`SELECT ${cols} FROM api_keys WHERE tenant_id = ${tenantId} AND mode = ${mode}
        ORDER BY created_at DESC, id DESC`)
  })
})

export const layer = Layer.effect(ApiKeys)(make)
