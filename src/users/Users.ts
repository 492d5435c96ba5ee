import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { InvalidEmail, InvalidPhone, NotFound, type ServiceUnavailable, ValidationFailed } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import type { User } from "../api/Shapes.ts"
import type { UserExport } from "../api/Users.ts"
import type { UserId } from "../domain/Ids.ts"
import { normalizeEmail } from "../domain/Email.ts"
import { unavailable } from "../platform/Sql.ts"
import { Transaction } from "../platform/Transaction.ts"
import { SessionStore } from "../sessions/SessionStore.ts"
import { UserStore } from "../sessions/UserStore.ts"
import { eraseUser } from "./Erasure.ts"
import { exportUser } from "./Export.ts"

type Caller = CurrentKey["Service"]

export class Users extends Context.Service<Users, {
  readonly get: (caller: Caller, id: UserId) => Effect.Effect<User, NotFound | ServiceUnavailable>
  readonly find: (caller: Caller, query: { readonly email?: string; readonly phone?: string }) => Effect.Effect<
    { readonly users: ReadonlyArray<User> },
    ValidationFailed | InvalidEmail | InvalidPhone | ServiceUnavailable
  >
  /** Erasure: sessions revoked, personal data removed everywhere, an audit event without PII kept. */
  readonly erase: (caller: Caller, id: UserId) => Effect.Effect<void, NotFound | ServiceUnavailable>
  readonly export: (caller: Caller, id: UserId) => Effect.Effect<UserExport, NotFound | ServiceUnavailable>
}>()("sesame/Users") {}

const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const make = Effect.gen(function*() {
  const store = yield* UserStore
  const sessions = yield* SessionStore
  const tx = yield* Transaction
  const sql = yield* PgClient.PgClient

  const get = Effect.fn("Users.get")(function*(caller: Caller, id: UserId) {
    const user = yield* store.find(caller, id)
    if (Option.isNone(user)) return yield* new NotFound({})
    return user.value
  })

  const find = Effect.fn("Users.find")(function*(caller: Caller, query: { readonly email?: string; readonly phone?: string }) {
    if ((query.email === undefined) === (query.phone === undefined)) {
      return yield* new ValidationFailed({ message: "give exactly one of email, phone", field: "email" })
    }
    let by: { readonly email: string } | { readonly phone: string }
    if (query.email !== undefined) {
      const email = normalizeEmail(query.email)
      if (email === undefined) return yield* new InvalidEmail({})
      by = { email }
    } else {
      // E.164: "+" and up to 15 digits. A bare "+" in a query string arrives as a space, so it is implied.
      const digits = (query.phone ?? "").replace(/[\s+]/g, "")
      if (!/^[1-9]\d{1,14}$/.test(digits)) return yield* new InvalidPhone({})
      by = { phone: `+${digits}` }
    }
    const user = yield* store.findBy(caller, by)
    return { users: Option.toArray(user) }
  })

  const erase = Effect.fn("Users.erase")(function*(caller: Caller, id: UserId) {
    const now = yield* nowDate
    yield* tx.run(Effect.gen(function*() {
      const user = yield* get(caller, id)
      yield* sessions.revoke(caller, { _tag: "User", id }, "user_deleted", now)
      yield* unavailable(eraseUser(caller, user, now))
    })).pipe(Effect.provideService(PgClient.PgClient, sql))
  })

  const exportFn = Effect.fn("Users.export")(function*(caller: Caller, id: UserId) {
    const user = yield* get(caller, id)
    return yield* unavailable(exportUser(caller, user, yield* nowDate)).pipe(Effect.provideService(PgClient.PgClient, sql))
  })

  return Users.of({ get, find, erase, export: exportFn })
})

export const layer = Layer.effect(Users)(make)
