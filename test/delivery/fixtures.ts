import { Clock, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { AuthRequestId, TenantId } from "../../src/domain/Ids.ts"
import type { NewMessage } from "../../src/delivery/Outbox.ts"
import * as OutboxPg from "../../src/delivery/OutboxPg.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

type Database = PgClient.PgClient | SqlClient.SqlClient

/** Every store test runs on PGlite, and on PostgreSQL when SESAME_TEST_DATABASE_URL is set. */
export const backends: ReadonlyArray<readonly [string, Layer.Layer<Database>]> = [
  ["PGlite", pgliteLayer],
  ...(hasPostgres ? [["PostgreSQL", postgresLayer] as const] : [])
]

/** The Outbox on a database, with the deterministic Secrets. */
export const withOutbox = <E>(db: Layer.Layer<Database, E>) =>
  OutboxPg.layer.pipe(Layer.provideMerge(Layer.merge(db, Secrets.layerTest)))

export const TENANT = TenantId.make(randomId("ten"))

export const newMessage = (overrides: Partial<NewMessage> = {}): NewMessage => ({
  tenantId: TENANT,
  mode: "live",
  authRequestId: AuthRequestId.make(randomId("ar")),
  channel: "email",
  recipient: "ada@example.com",
  email: {
    subject: "Your sign-in code",
    fromName: "Acme",
    text: "Your code: 123456",
    html: "<p>Your code: <b>123456</b></p>",
    replyTo: null,
    hint: "code 123456"
  },
  expiresAt: null,
  suppressed: false,
  ...overrides
})

/** Tests in a block share one database: each starts from an empty outbox. */
export const reset = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DELETE FROM messages`
  yield* sql`DELETE FROM events`
})

export const clockNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export interface MessageRow {
  readonly status: string
  readonly provider: string | null
  readonly attempts: number
  readonly lastError: string | null
  readonly payloadEnc: Uint8Array | null
  readonly nextAttemptAt: Date
  readonly lockedUntil: Date | null
  readonly sentAt: Date | null
}

export const row = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<MessageRow>`SELECT status, provider, attempts, last_error, payload_enc, next_attempt_at, locked_until, sent_at
      FROM messages WHERE id = ${id}`).pipe(Effect.map((rows) => rows[0]), Effect.orDie)

export const events = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ readonly type: string; readonly mode: string; readonly payload: Record<string, unknown> }>`
    SELECT type, mode, payload FROM events ORDER BY created_at`).pipe(Effect.orDie)

/** Live-clock tests: waits until `check` holds, failing the test after `timeoutMs`. */
export const eventually = <R>(check: Effect.Effect<boolean, never, R>, timeoutMs = 5000): Effect.Effect<void, never, R> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    while (!(yield* check)) {
      if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.die(new Error("condition not met in time"))
      yield* Effect.sleep(20)
    }
  })
