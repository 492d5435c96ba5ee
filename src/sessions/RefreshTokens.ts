import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import { Mode, SessionId, TenantId, UserId } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"
import type { UserRow } from "./UserStore.ts"

export type RotateOutcome =
  | {
    readonly _tag: "Rotated"
    readonly tenantId: TenantId
    readonly mode: Mode
    readonly sessionId: SessionId
    readonly amr: ReadonlyArray<string>
    readonly user: UserRow
    readonly refreshExpiresAt: Date
    readonly sessionExpiresAt: Date
  }
  | { readonly _tag: "Reused" }
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Revoked" }
  | { readonly _tag: "Expired" }

export class RefreshTokens extends Context.Service<RefreshTokens, {
  /** Which tenant and mode a presented token's session belongs to (to read that mode's policy); `undefined` for an unknown token. */
  readonly tenantOf: (hash: Buffer) => Effect.Effect<{ readonly tenantId: TenantId; readonly mode: Mode } | undefined, ServiceUnavailable>
  /**
   * Retires `hash` in favour of `successor` if it is current, unexpired and its session live; else,
   * if it was already retired, revokes its session (RFC 9700 §4.14.2). One statement.
   */
  readonly rotate: (input: {
    readonly hash: Buffer
    readonly successor: Buffer
    readonly now: Date
    readonly refreshUntil: Date
  }) => Effect.Effect<RotateOutcome, ServiceUnavailable>
}>()("sesame/RefreshTokens") {}

const Row = Schema.Struct({
  won: Schema.Boolean,
  rotated: Schema.Boolean,
  tenantId: TenantId,
  mode: Mode,
  sessionId: SessionId,
  amr: Schema.Array(Schema.String),
  expiresAt: Schema.Date,
  sessionExpiresAt: Schema.Date,
  revokedAt: Schema.NullOr(Schema.Date),
  refreshExpiresAt: Schema.Date,
  userId: Schema.NullOr(UserId),
  email: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  emailVerifiedAt: Schema.NullOr(Schema.Date),
  phoneVerifiedAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.NullOr(Schema.Date),
  lastLoginAt: Schema.NullOr(Schema.Date)
})
const decodeRow = Schema.decodeUnknownEffect(Row)

export const make = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient

  const rotate = Effect.fnUntraced(function*(input: {
    readonly hash: Buffer
    readonly successor: Buffer
    readonly now: Date
    readonly refreshUntil: Date
  }) {
    const { hash, successor, now, refreshUntil } = input
    const live = sql`r.rotated_at IS NULL AND r.expires_at > ${now} AND s.revoked_at IS NULL AND s.expires_at > ${now}`
    // Concurrency (READ COMMITTED): every racing statement updates the one token row, so they queue on
    // its lock, and each evaluates the CASEs on the latest committed version. Only the first finds it
    // current and writes its own successor; `replaced_by = successor` in RETURNING tells it that it
    // won. The others find it retired: that is a reuse, and they revoke the session.
    // A revocation racing this statement may commit just after it: the new tokens are then dead on
    // arrival, since refresh, introspection and userinfo all read the session's revoked_at.
    const rows = yield* unavailable(sql`
      WITH cur AS (
        UPDATE refresh_tokens AS r SET
          rotated_at = CASE WHEN ${live} THEN ${now} ELSE r.rotated_at END,
          replaced_by = CASE WHEN ${live} THEN ${successor}::bytea ELSE r.replaced_by END
        FROM sessions AS s
        WHERE r.token_hash = ${hash} AND s.tenant_id = r.tenant_id AND s.id = r.session_id
        RETURNING r.tenant_id, r.session_id, r.expires_at, r.rotated_at,
          COALESCE(r.replaced_by = ${successor}::bytea, false) AS won,
          s.mode, s.user_id, s.amr, s.expires_at AS session_expires_at, s.revoked_at
      ), issued AS (
        INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, created_at, expires_at)
        SELECT tenant_id, ${successor}::bytea, session_id, ${now}, LEAST(${refreshUntil}::timestamptz, session_expires_at)
        FROM cur WHERE won
      ), used AS (
        UPDATE sessions AS s SET last_used_at = ${now}
        FROM cur WHERE cur.won AND s.tenant_id = cur.tenant_id AND s.id = cur.session_id
      ), revoked AS (
        UPDATE sessions AS s SET revoked_at = ${now}
        FROM cur
        WHERE NOT cur.won AND cur.rotated_at IS NOT NULL
          AND s.tenant_id = cur.tenant_id AND s.id = cur.session_id AND s.revoked_at IS NULL
        RETURNING s.tenant_id, s.id, s.mode, s.user_id
      ), e AS (
        INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        SELECT tenant_id, 'evt_' || replace(gen_random_uuid()::text, '-', ''), mode, 'session.revoked',
          jsonb_build_object('sessionId', id, 'userId', user_id, 'reason', 'refresh_token_reused'), ${now}
        FROM revoked
      )
      SELECT cur.won, cur.rotated_at IS NOT NULL AS rotated, cur.tenant_id, cur.mode, cur.session_id, cur.amr, cur.expires_at,
        cur.session_expires_at, cur.revoked_at, LEAST(${refreshUntil}::timestamptz, cur.session_expires_at) AS refresh_expires_at,
        u.id AS user_id, u.email, u.phone, u.email_verified_at, u.phone_verified_at, u.created_at, u.last_login_at
      FROM cur LEFT JOIN users u ON u.tenant_id = cur.tenant_id AND u.id = cur.user_id`)
    if (rows[0] === undefined) return { _tag: "Unknown" } as const
    const row = yield* Effect.orDie(decodeRow(rows[0]))
    if (row.won) {
      // The user was erased while its session was being refreshed: the erasure revoked the session.
      if (row.userId === null || row.createdAt === null) return { _tag: "Revoked" } as const
      const user: UserRow = {
        id: row.userId, email: row.email, phone: row.phone, emailVerifiedAt: row.emailVerifiedAt,
        phoneVerifiedAt: row.phoneVerifiedAt, createdAt: row.createdAt, lastLoginAt: row.lastLoginAt
      }
      return {
        _tag: "Rotated",
        tenantId: row.tenantId,
        mode: row.mode,
        sessionId: row.sessionId,
        amr: row.amr,
        user,
        refreshExpiresAt: row.refreshExpiresAt,
        sessionExpiresAt: row.sessionExpiresAt
      } as const
    }
    if (row.rotated) return { _tag: "Reused" } as const
    if (row.revokedAt !== null) return { _tag: "Revoked" } as const
    return { _tag: "Expired" } as const
  })

  return RefreshTokens.of({
    tenantOf: (hash) =>
      unavailable(sql<{ tenantId: TenantId; mode: Mode }>`
        SELECT r.tenant_id, s.mode FROM refresh_tokens r JOIN sessions s ON s.tenant_id = r.tenant_id AND s.id = r.session_id
        WHERE r.token_hash = ${hash}`).pipe(
        Effect.map((rows) => rows[0])
      ),
    rotate
  })
})

export const layer = Layer.effect(RefreshTokens)(make)
