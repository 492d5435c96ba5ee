import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { User } from "../api/Shapes.ts"
import { type Mode, type TenantId, UserId } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"

/** A `users` row as the client returns it (camelCase names, timestamptz as Date). */
export const UserRow = Schema.Struct({
  id: UserId,
  email: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  emailVerifiedAt: Schema.NullOr(Schema.Date),
  phoneVerifiedAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date,
  lastLoginAt: Schema.NullOr(Schema.Date)
})
export type UserRow = typeof UserRow.Type

export const USER_COLUMNS = "id, email, phone, email_verified_at, phone_verified_at, created_at, last_login_at"

const iso = (date: Date | null) => date === null ? null : date.toISOString()

export const toWireUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  phone: row.phone,
  emailVerifiedAt: iso(row.emailVerifiedAt),
  phoneVerifiedAt: iso(row.phoneVerifiedAt),
  createdAt: row.createdAt.toISOString(),
  lastLoginAt: iso(row.lastLoginAt)
})

export interface UserKey {
  readonly tenantId: TenantId
  readonly mode: Mode
}

/** Users of one tenant and mode: a test key never sees a live user, nor the reverse. */
export class UserStore extends Context.Service<UserStore, {
  readonly find: (key: UserKey, id: UserId) => Effect.Effect<Option.Option<User>, ServiceUnavailable>
  /** By normalised email or E.164 phone, exactly as stored. */
  readonly findBy: (key: UserKey, by: { readonly email: string } | { readonly phone: string }) =>
    Effect.Effect<Option.Option<User>, ServiceUnavailable>
  /**
   * The user's integer alias (`users.number`, migration 0010): stable, unique, never reused. For
   * products whose clients store an integer user id (MagicAuth); undefined for an unknown user.
   */
  readonly numberOf: (key: UserKey, id: UserId) => Effect.Effect<number | undefined, ServiceUnavailable>
}>()("sesame/UserStore") {}

const decodeRow = Schema.decodeUnknownEffect(UserRow)

export const make = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const columns = sql.unsafe(USER_COLUMNS)
  const first = (rows: ReadonlyArray<unknown>) =>
    rows[0] === undefined
      ? Effect.succeedNone
      : Effect.map(Effect.orDie(decodeRow(rows[0])), (row) => Option.some(toWireUser(row)))
  return UserStore.of({
    find: (key, id) =>
      unavailable(sql`SELECT ${columns} FROM users WHERE tenant_id = ${key.tenantId} AND id = ${id} AND mode = ${key.mode}`)
        .pipe(Effect.flatMap(first)),
    findBy: (key, by) => {
      const [column, value] = "email" in by ? [sql("email"), by.email] : [sql("phone"), by.phone]
      return unavailable(sql`SELECT ${columns} FROM users
        WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND ${column} = ${value}`).pipe(Effect.flatMap(first))
    },
    numberOf: (key, id) =>
      unavailable(sql<{ readonly number: string | number }>`SELECT number FROM users
        WHERE tenant_id = ${key.tenantId} AND id = ${id} AND mode = ${key.mode}`).pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : Number(rows[0].number)))
  })
})

export const layer = Layer.effect(UserStore)(make)
