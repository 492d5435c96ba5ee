/**
 * The console's people and sessions (#14): operators (added with `sesame operator add`), their
 * sessions (the cookie holds a random token; only its SHA-256 is stored), and the console tenant whose
 * passwordless flow signs them in.
 */
import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Data, Effect, Layer, Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import { normalizeEmail } from "../domain/Email.ts"
import type { TenantId } from "../domain/Ids.ts"
import { randomId, randomToken, sha256 } from "../platform/Crypto.ts"
import { unavailable } from "../platform/Sql.ts"

export const Role = Schema.Literals(["owner", "admin", "viewer"])
export type Role = typeof Role.Type

/** What each role may do: a viewer reads; an admin runs tenants; an owner also creates tenants and erases users. */
export const roleRank: Readonly<Record<Role, number>> = { viewer: 0, admin: 1, owner: 2 }
export const mayAct = (role: Role, needs: Role): boolean => roleRank[role] >= roleRank[needs]

export interface Operator {
  readonly id: string
  readonly email: string
  readonly role: Role
  readonly createdAt: Date
}

export interface ConsoleSession {
  readonly id: string
  readonly operator: Operator
  readonly createdAt: Date
  readonly lastSeenAt: Date
  readonly expiresAt: Date
}

export interface SessionRow {
  readonly id: string
  readonly ip: string | null
  readonly userAgent: string | null
  readonly createdAt: Date
  readonly lastSeenAt: Date
  readonly expiresAt: Date
  readonly revokedAt: Date | null
}

export class OperatorInvalid extends Data.TaggedError("OperatorInvalid")<{ readonly message: string }> {}

/** A session's lifetime rules (AppConfig.console): idle and absolute. */
export interface SessionPolicy {
  readonly idleMs: number
  readonly absoluteMs: number
}

/** How often a session's `last_seen_at` is written: not on every page view. */
export const TOUCH_EVERY_MS = 60_000

export class Operators extends Context.Service<Operators, {
  /** Adds (or, for an existing operator, changes the role of) the operator with this email. */
  readonly add: (email: string, role: Role) => Effect.Effect<Operator, OperatorInvalid | ServiceUnavailable>
  readonly list: Effect.Effect<ReadonlyArray<Operator>, ServiceUnavailable>
  /** Removes the operator and ends every session of theirs; false when there was none. */
  readonly remove: (email: string) => Effect.Effect<boolean, OperatorInvalid | ServiceUnavailable>
  readonly byEmail: (email: string) => Effect.Effect<Operator | undefined, ServiceUnavailable>
  /** The tenant whose passwordless flow signs operators in; undefined until the first operator is added. */
  readonly consoleTenant: Effect.Effect<TenantId | undefined, ServiceUnavailable>
  readonly setConsoleTenant: (id: TenantId) => Effect.Effect<void, ServiceUnavailable>
  /** A new session: the cookie's token, returned once. */
  readonly openSession: (operator: Operator, policy: SessionPolicy, client: { readonly ip: string | null; readonly userAgent: string | null }) =>
    Effect.Effect<{ readonly token: string; readonly session: ConsoleSession }, ServiceUnavailable>
  /** The live session this cookie token names (not revoked, not idle too long, not past its end), touched. */
  readonly session: (token: string, policy: SessionPolicy) => Effect.Effect<ConsoleSession | undefined, ServiceUnavailable>
  /** Ends a session (sign-out, or an owner ending another's); false when it was not live. */
  readonly revokeSession: (id: string) => Effect.Effect<boolean, ServiceUnavailable>
  readonly sessionsOf: (operatorId: string) => Effect.Effect<ReadonlyArray<SessionRow>, ServiceUnavailable>
}>()("sesame/console/Operators") {}

interface OperatorRow {
  readonly id: string
  readonly email: string
  readonly role: Role
  readonly createdAt: Date
}

interface JoinedRow extends OperatorRow {
  readonly sessionId: string
  readonly sessionCreatedAt: Date
  readonly lastSeenAt: Date
  readonly expiresAt: Date
}

const validEmail = (email: string) => {
  const normal = normalizeEmail(email)
  return normal === undefined ? Effect.fail(new OperatorInvalid({ message: `not a valid email address: ${email}` })) : Effect.succeed(normal)
}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
  const operatorOf = (row: OperatorRow): Operator => ({ id: row.id, email: row.email, role: row.role, createdAt: row.createdAt })

  return Operators.of({
    add: (email, role) =>
      Effect.gen(function* () {
        const normal = yield* validEmail(email)
        const at = yield* now
        // one statement: a second `add` of the same address changes the role (the partial unique index decides)
        const rows = yield* unavailable(sql<OperatorRow>`
          INSERT INTO console_operators (id, email, role, created_at) VALUES (${randomId("op")}, ${normal}, ${role}, ${at})
          ON CONFLICT (email) WHERE removed_at IS NULL DO UPDATE SET role = EXCLUDED.role
          RETURNING id, email, role, created_at`)
        return operatorOf(rows[0]!)
      }),
    list: unavailable(sql<OperatorRow>`
      SELECT id, email, role, created_at FROM console_operators WHERE removed_at IS NULL ORDER BY email`).pipe(
      Effect.map((rows) => rows.map(operatorOf))
    ),
    remove: (email) =>
      Effect.gen(function* () {
        const normal = yield* validEmail(email)
        const at = yield* now
        return yield* unavailable(sql.withTransaction(Effect.gen(function* () {
          const removed = yield* sql<{ id: string }>`
            UPDATE console_operators SET removed_at = ${at} WHERE email = ${normal} AND removed_at IS NULL RETURNING id`
          if (removed.length === 0) return false
          yield* sql`UPDATE console_sessions SET revoked_at = ${at} WHERE operator_id = ${removed[0]!.id} AND revoked_at IS NULL`
          return true
        })))
      }),
    byEmail: (email) => {
      const normal = normalizeEmail(email)
      if (normal === undefined) return Effect.succeed(undefined)
      return unavailable(sql<OperatorRow>`
        SELECT id, email, role, created_at FROM console_operators WHERE email = ${normal} AND removed_at IS NULL`).pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : operatorOf(rows[0]))
      )
    },
    consoleTenant: unavailable(sql<{ tenantId: TenantId }>`SELECT tenant_id FROM console_system`).pipe(
      Effect.map((rows) => rows[0]?.tenantId)
    ),
    setConsoleTenant: (id) =>
      unavailable(sql`INSERT INTO console_system (singleton, tenant_id) VALUES (true, ${id})
        ON CONFLICT (singleton) DO UPDATE SET tenant_id = EXCLUDED.tenant_id`).pipe(Effect.asVoid),
    openSession: (operator, policy, client) =>
      Effect.gen(function* () {
        const at = yield* now
        const token = randomToken(32)
        const session: ConsoleSession = {
          id: randomId("cs"),
          operator,
          createdAt: at,
          lastSeenAt: at,
          expiresAt: new Date(at.getTime() + policy.absoluteMs)
        }
        yield* unavailable(sql`INSERT INTO console_sessions ${sql.insert({
          id: session.id,
          operatorId: operator.id,
          tokenHash: sha256(token),
          ip: client.ip,
          userAgent: client.userAgent?.slice(0, 300) ?? null,
          createdAt: at,
          lastSeenAt: at,
          expiresAt: session.expiresAt
        })}`)
        return { token, session }
      }),
    session: (token, policy) =>
      Effect.gen(function* () {
        if (!/^[A-Za-z0-9_-]{43}$/u.test(token)) return undefined
        const at = yield* now
        const idleSince = new Date(at.getTime() - policy.idleMs)
        const rows = yield* unavailable(sql<JoinedRow>`
          SELECT o.id, o.email, o.role, o.created_at, s.id AS session_id, s.created_at AS session_created_at,
                 s.last_seen_at, s.expires_at
          FROM console_sessions s JOIN console_operators o ON o.id = s.operator_id
          WHERE s.token_hash = ${sha256(token)} AND s.revoked_at IS NULL AND o.removed_at IS NULL
            AND s.expires_at > ${at} AND s.last_seen_at > ${idleSince}`)
        const row = rows[0]
        if (row === undefined) return undefined
        if (at.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
          yield* unavailable(sql`UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, ${at}) WHERE id = ${row.sessionId}`)
        }
        return {
          id: row.sessionId,
          operator: operatorOf(row),
          createdAt: row.sessionCreatedAt,
          lastSeenAt: at,
          expiresAt: row.expiresAt
        }
      }),
    revokeSession: (id) =>
      Effect.gen(function* () {
        const at = yield* now
        const rows = yield* unavailable(sql<{ id: string }>`
          UPDATE console_sessions SET revoked_at = ${at} WHERE id = ${id} AND revoked_at IS NULL RETURNING id`)
        return rows.length > 0
      }),
    sessionsOf: (operatorId) =>
      unavailable(sql<SessionRow>`
        SELECT id, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at FROM console_sessions
        WHERE operator_id = ${operatorId} ORDER BY created_at DESC LIMIT 50`)
  })
})

export const layer = Layer.effect(Operators)(make)
