import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { RetentionConfig } from "../../src/platform/Config.ts"
import type { Database } from "../../src/platform/Database.ts"
import * as OutboxPg from "../../src/delivery/OutboxPg.ts"
import * as CodeStorePg from "../../src/passwordless/CodeStorePg.ts"
import * as ExchangeCodesPg from "../../src/passwordless/ExchangeCodesPg.ts"
import * as RetentionLive from "../../src/retention/Retention.ts"
import * as RetentionStorePg from "../../src/retention/RetentionStorePg.ts"
import { webhooksOn } from "../webhooks/fixtures.ts"

export const H = 3_600_000

/** Short periods, so that one day on the TestClock crosses every one of them; batches of 2. */
export const policy: RetentionConfig = {
  enabled: false, intervalMs: 600_000, batchSize: 2,
  authRequestsMs: 2 * H, exchangeCodesMs: 1 * H, payloadsMs: 1 * H, messagesMs: 10 * H, testMessagesMs: 5 * H,
  eventsMs: 6 * H, webhookDeliveriesMs: 6 * H, auditMs: 8 * H
}

/** The stores that write each kind of row, the webhook service and worker's needs, and the sweep. */
export const retentionOn = (db: Layer.Layer<Database>, config: RetentionConfig = policy) =>
  Layer.effect(RetentionLive.Retention)(RetentionLive.make(config)).pipe(
    Layer.provideMerge(Layer.mergeAll(RetentionStorePg.layer, OutboxPg.layer, CodeStorePg.layer, ExchangeCodesPg.layer)),
    Layer.provideMerge(webhooksOn(db))
  )

/** Tests in a block share one database: each starts with every swept table empty. */
export const resetAll = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of ["webhook_endpoints", "events", "audit_log", "auth_requests", "exchange_codes", "messages"]) {
    yield* sql`DELETE FROM ${sql(table)}`
  }
}).pipe(Effect.orDie)

/** `column` of every row of `table`, sorted: what is left after a sweep. */
export const left = (table: string, column = "id") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly v: string }>`SELECT ${sql(column)}::text AS v FROM ${sql(table)}`).pipe(
    Effect.map((rows) => rows.map((r) => r.v).sort()),
    Effect.orDie
  )
