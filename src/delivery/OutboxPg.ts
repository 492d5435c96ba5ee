import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Schema } from "effect"
import { MessageId } from "../domain/Ids.ts"
import type { AuthRequestId, Channel, Mode, TenantId } from "../domain/Ids.ts"
import { randomId } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { unavailable } from "../platform/Sql.ts"
import type { Claimed, DeliveryStatus, NewMessage, StoredTestMessage } from "./Outbox.ts"
import { DeferredPayload, MessagePayload, Outbox, TEST_OUTBOX } from "./Outbox.ts"

interface ClaimRow {
  readonly tenantId: TenantId
  readonly id: MessageId
  readonly mode: Mode
  readonly authRequestId: AuthRequestId | null
  readonly channel: Channel
  readonly recipient: string
  readonly payloadEnc: Uint8Array | null
  readonly status: "sending" | "skipped"
  readonly attempts: number
}

interface TestRow {
  readonly id: MessageId
  readonly authRequestId: AuthRequestId | null
  readonly channel: Channel
  readonly recipient: string
  readonly payloadEnc: Uint8Array | null
  readonly createdAt: Date
}

/** The columns of a new `messages` row, in the order `messageRow` gives its values. */
export const MESSAGE_COLUMNS = "tenant_id, id, mode, auth_request_id, channel, recipient, payload_enc, status, provider, attempts, " +
  "next_attempt_at, expires_at, created_at, sent_at"

/**
 * A new outbox row: test-mode messages are written as already sent by `test-outbox` (nothing is
 * delivered for test keys); a decoy's is `suppressed`. The payload is sealed with the message id as AAD.
 */
export const messageRow = (secrets: Secrets["Service"], message: NewMessage, now: Date) => {
  const id = MessageId.make(randomId("msg"))
  const test = message.mode === "test" && !message.suppressed
  const values: ReadonlyArray<unknown> = [
    message.tenantId, id, message.mode, message.authRequestId, message.channel, message.recipient,
    secrets.seal(JSON.stringify(message.email), id),
    message.suppressed ? "suppressed" : test ? "sent" : "queued",
    test ? TEST_OUTBOX : null, 0, now, message.expiresAt, now, test ? now : null
  ]
  return { id, values }
}

const INSERT_MESSAGE = `INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES (${MESSAGE_COLUMNS.split(",").map((_, i) => `$${i + 1}`).join(", ")})`

const decodePayload = Schema.decodeUnknownOption(Schema.fromJsonString(MessagePayload))
const decodeDeferred = Schema.decodeUnknownOption(Schema.fromJsonString(DeferredPayload))

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const secrets = yield* Secrets

  // The message id is the AAD: a sealed payload copied onto another row does not open there.
  const open = (id: string, data: Uint8Array | null): MessagePayload | undefined => {
    if (data === null) return undefined
    let plaintext: string
    try {
      plaintext = secrets.open(data, id)
    } catch {
      return undefined // authentication failed: another SESAME_SECRET, or a tampered row
    }
    return Option.getOrUndefined(decodePayload(plaintext))
  }

  const toClaimed = (row: ClaimRow): Claimed => {
    const key = { tenantId: row.tenantId, id: row.id }
    if (row.status === "skipped") return { _tag: "Skipped", ...key }
    const email = open(row.id, row.payloadEnc)
    if (email === undefined) return { _tag: "Unreadable", ...key, attempts: row.attempts }
    const { mode, authRequestId, channel, recipient, attempts } = row
    return { _tag: "Deliver", ...key, mode, authRequestId, channel, recipient, email, attempts }
  }

  const toTest = (row: TestRow): StoredTestMessage => {
    let payload: MessagePayload | DeferredPayload | undefined
    try {
      const plaintext = row.payloadEnc === null ? undefined : secrets.open(row.payloadEnc, row.id)
      payload = plaintext === undefined ? undefined
        : Option.getOrUndefined(decodeDeferred(plaintext)) ?? Option.getOrUndefined(decodePayload(plaintext))
    } catch {
      payload = undefined // another SESAME_SECRET, or a tampered row
    }
    return { id: row.id, authRequestId: row.authRequestId, channel: row.channel, to: row.recipient, payload, createdAt: row.createdAt }
  }

  const status = (rows: ReadonlyArray<DeliveryStatus>) => rows[0]

  return Outbox.of({
    enqueue: (message, now) => {
      const row = messageRow(secrets, message, now)
      return unavailable(sql.unsafe(INSERT_MESSAGE, row.values)).pipe(Effect.as(row.id))
    },

    listTest: (tenantId, to, limit) =>
      unavailable(sql<TestRow>`
        SELECT id, auth_request_id, channel, recipient, payload_enc, created_at FROM messages
        WHERE tenant_id = ${tenantId} AND mode = 'test' AND status <> 'suppressed' ${to === undefined ? sql`` : sql`AND recipient = ${to}`}
        ORDER BY created_at DESC, id DESC LIMIT ${limit}`).pipe(Effect.map((rows) => rows.map(toTest))),

    testMessage: (tenantId, id) =>
      unavailable(sql<TestRow>`
        SELECT id, auth_request_id, channel, recipient, payload_enc, created_at FROM messages
        WHERE tenant_id = ${tenantId} AND id = ${id} AND mode = 'test' AND status <> 'suppressed'`).pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : toTest(rows[0]))
      ),

    deliveryOf: (tenantId, authRequestId) =>
      unavailable(sql<DeliveryStatus>`
        SELECT status, provider, attempts, last_error FROM messages
        WHERE tenant_id = ${tenantId} AND auth_request_id = ${authRequestId}
        ORDER BY created_at DESC, id DESC LIMIT 1`).pipe(Effect.map(status)),

    statusOf: (key) =>
      unavailable(sql<DeliveryStatus>`SELECT status, provider, attempts, last_error FROM messages
        WHERE tenant_id = ${key.tenantId} AND id = ${key.id}`).pipe(Effect.map(status)),

    /**
     * One statement: SKIP LOCKED lets concurrent workers (any process) take disjoint rows, and the
     * re-check of the WHERE clause on a row another worker updated meanwhile (READ COMMITTED) keeps a
     * freshly leased row out. A row whose lease ran out (its worker crashed) is due again. Expired
     * rows are closed as skipped in the same statement and their payload dropped.
     */
    claim: ({ now, leaseMs, limit, only }) => {
      const expired = sql`m.expires_at <= ${now}`
      return unavailable(sql<ClaimRow>`
        UPDATE messages m SET
          status = CASE WHEN ${expired} THEN 'skipped' ELSE 'sending' END,
          locked_until = CASE WHEN ${expired} THEN NULL ELSE ${new Date(now.getTime() + leaseMs)}::timestamptz END,
          attempts = CASE WHEN ${expired} THEN m.attempts ELSE m.attempts + 1 END,
          payload_enc = CASE WHEN ${expired} THEN NULL ELSE m.payload_enc END
        WHERE (m.tenant_id, m.id) IN (
          SELECT tenant_id, id FROM messages
          WHERE status IN ('queued', 'sending') AND next_attempt_at <= ${now}
            AND (locked_until IS NULL OR locked_until <= ${now})
            ${only === undefined ? sql`` : sql`AND tenant_id = ${only.tenantId} AND id = ${only.id}`}
          ORDER BY next_attempt_at LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING m.tenant_id, m.id, m.mode, m.auth_request_id, m.channel, m.recipient, m.payload_enc,
          m.status, m.attempts`).pipe(Effect.map((rows) => rows.map(toClaimed)))
    },

    renew: (key, attempts, lockedUntil) =>
      unavailable(sql`
        UPDATE messages SET locked_until = ${lockedUntil}
        WHERE tenant_id = ${key.tenantId} AND id = ${key.id} AND status = 'sending' AND attempts = ${attempts}
        RETURNING id`).pipe(Effect.map((rows) => rows.length > 0)),

    markSent: (key, provider, now) =>
      unavailable(sql`
        UPDATE messages SET status = 'sent', provider = ${provider}, sent_at = ${now}, locked_until = NULL,
          last_error = NULL, payload_enc = CASE WHEN mode = 'live' THEN NULL ELSE payload_enc END
        WHERE tenant_id = ${key.tenantId} AND id = ${key.id}`).pipe(Effect.asVoid),

    markRetry: (key, attempts, nextAttemptAt, error) =>
      unavailable(sql`
        UPDATE messages SET status = 'queued', next_attempt_at = ${nextAttemptAt}, locked_until = NULL,
          last_error = ${error}
        WHERE tenant_id = ${key.tenantId} AND id = ${key.id} AND status = 'sending' AND attempts = ${attempts}`)
        .pipe(Effect.asVoid),

    // One statement, so the status change and the event commit together or not at all.
    markFailed: (key, attempts, error, now) =>
      unavailable(sql`
        WITH failed AS (
          UPDATE messages SET status = 'failed', locked_until = NULL, last_error = ${error}, payload_enc = NULL
          WHERE tenant_id = ${key.tenantId} AND id = ${key.id} AND status = 'sending' AND attempts = ${attempts}
          RETURNING tenant_id, id, mode, auth_request_id, channel)
        INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        SELECT tenant_id, ${randomId("evt")}, mode, 'delivery.failed',
          jsonb_build_object('messageId', id, 'authRequestId', auth_request_id, 'channel', channel,
            'error', ${error}::text), ${now}
        FROM failed`).pipe(Effect.asVoid)
  })
})

export const layer = Layer.effect(Outbox)(make)
