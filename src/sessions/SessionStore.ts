import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { SessionInfo } from "../api/Sessions.ts"
import { Mode, SessionId, type TenantId, UserId } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"

/** A `sessions` row as the client returns it. */
export const SessionRow = Schema.Struct({
  id: SessionId,
  userId: UserId,
  mode: Mode,
  amr: Schema.Array(Schema.String),
  clientIp: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  lastUsedAt: Schema.Date,
  expiresAt: Schema.Date,
  revokedAt: Schema.NullOr(Schema.Date)
})
export type SessionRow = typeof SessionRow.Type

export const SESSION_COLUMNS = "id, user_id, mode, amr, client_ip, user_agent, created_at, last_used_at, expires_at, revoked_at"

export const decodeSessionRow = Schema.decodeUnknownEffect(SessionRow)

export const toSessionInfo = (row: SessionRow): SessionInfo => ({
  id: row.id,
  userId: row.userId,
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt.toISOString(),
  expiresAt: row.expiresAt.toISOString(),
  revokedAt: row.revokedAt === null ? null : row.revokedAt.toISOString(),
  amr: row.amr,
  ipAddress: row.clientIp,
  userAgent: row.userAgent
})

export interface Scope {
  readonly tenantId: TenantId
  readonly mode: Mode
}

export type RevokeTarget =
  | { readonly _tag: "Session"; readonly id: SessionId }
  | { readonly _tag: "User"; readonly id: UserId }

/** Why a session was revoked, as written into its `session.revoked` event. */
export type RevokeReason = "revoked" | "logout" | "refresh_token_reused" | "user_deleted"

export class SessionStore extends Context.Service<SessionStore, {
  /** By tenant and id, whatever the mode: the caller checks the mode it is allowed to see. */
  readonly find: (tenantId: TenantId, id: SessionId) => Effect.Effect<SessionRow | undefined, ServiceUnavailable>
  /** Not revoked, before its absolute end, and with a current unexpired refresh token. */
  readonly listActive: (scope: Scope, userId: UserId, now: Date) => Effect.Effect<ReadonlyArray<SessionRow>, ServiceUnavailable>
  /**
   * Revokes the target's sessions that are still live and writes one `session.revoked` event per
   * session in the same statement. `found`: the session (or user) exists in this tenant and mode.
   */
  readonly revoke: (scope: Scope, target: RevokeTarget, reason: RevokeReason, now: Date) => Effect.Effect<
    { readonly found: boolean; readonly revoked: number },
    ServiceUnavailable
  >
}>()("sesame/SessionStore") {}

export const make = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const columns = sql.unsafe(SESSION_COLUMNS)
  const decodeAll = (rows: ReadonlyArray<unknown>) => Effect.orDie(Effect.forEach(rows, (row) => decodeSessionRow(row)))

  return SessionStore.of({
    find: (tenantId, id) =>
      unavailable(sql`SELECT ${columns} FROM sessions WHERE tenant_id = ${tenantId} AND id = ${id}`).pipe(
        Effect.flatMap((rows) => rows[0] === undefined ? Effect.succeed(undefined) : Effect.orDie(decodeSessionRow(rows[0])))
      ),

    listActive: (scope, userId, now) =>
      unavailable(sql`
        SELECT ${columns} FROM sessions s
        WHERE s.tenant_id = ${scope.tenantId} AND s.mode = ${scope.mode} AND s.user_id = ${userId}
          AND s.revoked_at IS NULL AND s.expires_at > ${now}
          AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.tenant_id = s.tenant_id AND r.session_id = s.id
                      AND r.rotated_at IS NULL AND r.expires_at > ${now})
        ORDER BY s.created_at DESC, s.id`).pipe(Effect.flatMap(decodeAll)),

    revoke: (scope, target, reason, now) => {
      const scoped = sql`tenant_id = ${scope.tenantId} AND mode = ${scope.mode}`
      const [match, exists] = target._tag === "Session"
        ? [sql`id = ${target.id}`, sql`SELECT 1 FROM sessions WHERE ${scoped} AND id = ${target.id}`]
        : [sql`user_id = ${target.id}`, sql`SELECT 1 FROM users WHERE ${scoped} AND id = ${target.id}`]
      // Only live sessions are counted; `revoked_at IS NULL` makes a second revocation (or a racing
      // one, re-checked on the locked row) a no-op that writes no second event.
      return unavailable(sql<{ found: boolean; revoked: number }>`
        WITH r AS (
          UPDATE sessions SET revoked_at = ${now}
          WHERE ${scoped} AND ${match} AND revoked_at IS NULL AND expires_at > ${now}
          RETURNING tenant_id, id, mode, user_id
        ), e AS (
          INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
          SELECT tenant_id, 'evt_' || replace(gen_random_uuid()::text, '-', ''), mode, 'session.revoked',
            jsonb_build_object('sessionId', id, 'userId', user_id, 'reason', ${reason}::text), ${now}
          FROM r
        )
        SELECT EXISTS (${exists}) AS found, (SELECT count(*) FROM r)::int AS revoked`).pipe(
        Effect.map((rows) => rows[0] ?? { found: false, revoked: 0 })
      )
    }
  })
})

export const layer = Layer.effect(SessionStore)(make)
