import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import type { Fragment } from "effect/sql/Statement"
import { unavailable } from "../platform/Sql.ts"
import { type Kind, RetentionStore } from "./RetentionStore.ts"

/** A closed message that still holds its payload; a sent test-mode one keeps it for the test outbox. */
const PAYLOAD_HELD = "payload_enc IS NOT NULL AND status IN ('sent', 'failed', 'skipped', 'suppressed') " +
  "AND (mode = 'live' OR status <> 'sent')"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient

  /**
   * Safe across processes without an advisory lock: the inner SELECT locks the rows it takes and skips
   * those another sweep (or a verify, a retry…) holds, so concurrent sweeps take disjoint batches; the
   * lock re-checks the condition on a row changed since the statement began, so only rows that still
   * qualify are taken; and a batch is one short statement, so no lock outlives it. `ctid = ANY(ARRAY(…))`
   * is a TID scan whatever the plan cache guesses about `limit`.
   */
  const oldest = (table: string, where: Fragment, order: string, limit: number) =>
    sql`ctid = ANY(ARRAY(SELECT ctid FROM ${sql(table)} WHERE ${where}
      ORDER BY ${sql.unsafe(order)} LIMIT ${limit} FOR UPDATE SKIP LOCKED))`

  const count = (statement: Fragment) =>
    unavailable(sql<{ readonly n: number }>`WITH gone AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM gone`)
      .pipe(Effect.map((rows) => rows[0]?.n ?? 0))

  const remove = (table: string, where: Fragment, order: string, limit: number) =>
    count(sql`DELETE FROM ${sql(table)} WHERE ${oldest(table, where, order, limit)}`)

  const messagesOf = (mode: "live" | "test", cutoff: Date, limit: number) =>
    // queued and sending rows belong to the delivery worker, which closes them (expired → skipped)
    remove("messages", sql`mode = ${mode} AND created_at <= ${cutoff} AND status NOT IN ('queued', 'sending')`,
      "mode, created_at", limit)

  const statements: Record<Kind, (cutoff: Date, limit: number) => ReturnType<typeof count>> = {
    // webhook_attempts go with their delivery (ON DELETE CASCADE)
    webhookDeliveries: (cutoff, limit) =>
      remove("webhook_deliveries", sql`status IN ('succeeded', 'failed') AND completed_at <= ${cutoff}`, "completed_at", limit),
    // An undispatched event has not reached its endpoints yet, and one with a delivery left (pending,
    // or finished but within its period) is what that delivery sends and shows.
    events: (cutoff, limit) =>
      remove("events", sql`created_at <= ${cutoff} AND dispatched_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = events.tenant_id AND d.event_id = events.id)`,
        "created_at", limit),
    // Nothing references an auth request by key: messages, exchange codes and events name it only.
    authRequests: (cutoff, limit) => remove("auth_requests", sql`expires_at <= ${cutoff}`, "expires_at", limit),
    // A code is used before it expires, so this takes used and unused ones alike.
    exchangeCodes: (cutoff, limit) => remove("exchange_codes", sql`expires_at <= ${cutoff}`, "expires_at", limit),
    payloads: (cutoff, limit) =>
      count(sql`UPDATE messages SET payload_enc = NULL
        WHERE ${oldest("messages", sql`${sql.unsafe(PAYLOAD_HELD)} AND created_at <= ${cutoff}`, "created_at", limit)}`),
    testMessages: (cutoff, limit) => messagesOf("test", cutoff, limit),
    messages: (cutoff, limit) => messagesOf("live", cutoff, limit),
    audit: (cutoff, limit) => remove("audit_log", sql`created_at <= ${cutoff}`, "created_at", limit)
  }

  return RetentionStore.of({ remove: (kind, cutoff, limit) => statements[kind](cutoff, limit) })
})

export const layer = Layer.effect(RetentionStore)(make)
