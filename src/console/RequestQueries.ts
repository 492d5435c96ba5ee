/**
 * The console's auth-request log (#14): read-only SQL over `auth_requests` and what was recorded about
 * each (its messages, its audit rows), for one tenant and mode. Nothing here changes a row; the time
 * that decides a request's status is a parameter from Effect's Clock.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import type { AuthRequestId, Mode, TenantId } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"

export const STATUSES = ["pending", "verified", "expired", "locked"] as const
export type RequestStatus = typeof STATUSES[number]

/** As `Passwordless.status` says it: verified, else expired, else locked (no attempts left), else pending. */
export const statusOf = (row: { readonly verifiedAt: Date | null; readonly expiresAt: Date; readonly attempts: number; readonly maxAttempts: number }, nowMs: number): RequestStatus =>
  row.verifiedAt !== null ? "verified" : nowMs >= row.expiresAt.getTime() ? "expired" : row.attempts >= row.maxAttempts ? "locked" : "pending"

const Signals = Schema.NullOr(Schema.Array(Schema.String))

const ListRow = Schema.Struct({
  id: Schema.String,
  channel: Schema.String,
  type: Schema.String,
  identifier: Schema.String,
  attempts: Schema.Number,
  maxAttempts: Schema.Number,
  resends: Schema.Number,
  createdAt: Schema.Date,
  expiresAt: Schema.Date,
  verifiedAt: Schema.NullOr(Schema.Date),
  riskScore: Schema.NullOr(Schema.Number),
  riskSignals: Signals,
  deliveryStatus: Schema.NullOr(Schema.String),
  deliveryProvider: Schema.NullOr(Schema.String)
})
export type ListRow = typeof ListRow.Type

const DetailRow = Schema.Struct({
  ...ListRow.fields,
  email: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  codeLength: Schema.Number,
  hasLink: Schema.Boolean,
  pkce: Schema.Boolean,
  redirectUrl: Schema.NullOr(Schema.String),
  state: Schema.NullOr(Schema.String),
  template: Schema.String,
  locale: Schema.NullOr(Schema.String),
  metadata: Schema.NullOr(Schema.Json),
  clientIp: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  lastSentAt: Schema.Date,
  userId: Schema.NullOr(Schema.String)
})
export type DetailRow = typeof DetailRow.Type

const MessageRow = Schema.Struct({
  id: Schema.String,
  channel: Schema.String,
  status: Schema.String,
  provider: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  sentAt: Schema.NullOr(Schema.Date),
  nextAttemptAt: Schema.Date
})
export type MessageRow = typeof MessageRow.Type

const AuditRow = Schema.Struct({
  type: Schema.String,
  actor: Schema.NullOr(Schema.String),
  ip: Schema.NullOr(Schema.String),
  details: Schema.Json,
  createdAt: Schema.Date
})
export type AuditRow = typeof AuditRow.Type

const decoded = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(Schema.Array(schema))
  return <E, R>(query: Effect.Effect<ReadonlyArray<unknown>, E, R>) => Effect.flatMap(query, (rows) => Effect.orDie(decode(rows)))
}

export interface ListQuery {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly now: Date
  readonly status: RequestStatus | undefined
  /** A normalised email or E.164 phone (exact: the identifier index), or a request id. */
  readonly identifier: string | undefined
  readonly id: string | undefined
  /** Keyset cursor: the last row of the previous page. */
  readonly before: { readonly createdAt: Date; readonly id: string } | undefined
  readonly limit: number
}

/** A page cursor: `<created ms>.<id>`. */
export const cursorOf = (row: { readonly createdAt: Date; readonly id: string }): string => `${row.createdAt.getTime()}.${row.id}`
export const parseCursor = (text: string | null): ListQuery["before"] => {
  const match = /^([0-9]{1,15})\.([A-Za-z0-9_]{1,64})$/u.exec(text ?? "")
  return match === null ? undefined : { createdAt: new Date(Number(match[1])), id: match[2] ?? "" }
}

const LIST_COLUMNS = "a.id, a.channel, a.type, a.identifier, a.attempts, a.max_attempts, a.resends, a.created_at, a.expires_at, " +
  "a.verified_at, a.risk_score, a.risk_signals, m.status AS delivery_status, m.provider AS delivery_provider"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const listColumns = sql.unsafe(LIST_COLUMNS)
  // the request's newest message: what `Passwordless.status` reports as its delivery (messages_auth_request index)
  const latestMessage = sql`LEFT JOIN LATERAL (
      SELECT status, provider FROM messages m WHERE m.tenant_id = a.tenant_id AND m.auth_request_id = a.id
      ORDER BY m.created_at DESC, m.id DESC LIMIT 1) m ON TRUE`

  const statusIs = (status: RequestStatus, now: Date) => {
    switch (status) {
      case "verified": return sql`AND a.verified_at IS NOT NULL`
      case "expired": return sql`AND a.verified_at IS NULL AND a.expires_at <= ${now}`
      case "locked": return sql`AND a.verified_at IS NULL AND a.expires_at > ${now} AND a.attempts >= a.max_attempts`
      case "pending": return sql`AND a.verified_at IS NULL AND a.expires_at > ${now} AND a.attempts < a.max_attempts`
    }
  }

  /** Newest first, `limit + 1` rows (the extra one says there is an older page). */
  const list = (q: ListQuery) =>
    unavailable(decoded(ListRow)(sql`
      SELECT ${listColumns} FROM auth_requests a ${latestMessage}
      WHERE a.tenant_id = ${q.tenantId} AND a.mode = ${q.mode}
        ${q.identifier === undefined ? sql`` : sql`AND a.identifier = ${q.identifier}`}
        ${q.id === undefined ? sql`` : sql`AND a.id = ${q.id}`}
        ${q.status === undefined ? sql`` : statusIs(q.status, q.now)}
        ${q.before === undefined ? sql`` : sql`AND (a.created_at, a.id) < (${q.before.createdAt}::timestamptz, ${q.before.id}::text)`}
      ORDER BY a.created_at DESC, a.id DESC LIMIT ${q.limit + 1}`))

  /** Everything recorded about one request: the row, its messages (oldest first), its audit rows. */
  const detail = (tenantId: TenantId, mode: Mode, id: AuthRequestId) =>
    unavailable(Effect.gen(function* () {
      const rows = yield* decoded(DetailRow)(sql`
        SELECT ${listColumns}, a.email, a.phone, a.code_length, (a.link_hash IS NOT NULL) AS has_link,
          (a.code_challenge IS NOT NULL) AS pkce, a.redirect_url, a.state, a.template, a.locale, a.metadata, a.client_ip,
          a.user_agent, a.last_sent_at, a.user_id
        FROM auth_requests a ${latestMessage}
        WHERE a.tenant_id = ${tenantId} AND a.mode = ${mode} AND a.id = ${id}`)
      const row = rows[0]
      if (row === undefined) return undefined
      const messages = yield* decoded(MessageRow)(sql`
        SELECT id, channel, status, provider, attempts, last_error, created_at, sent_at, next_attempt_at FROM messages
        WHERE tenant_id = ${tenantId} AND auth_request_id = ${id} ORDER BY created_at, id`)
      // Attempts on a request happen between its creation and its expiry: the audit_log_created index bounds the read.
      const audit = yield* decoded(AuditRow)(sql`
        SELECT type, actor, ip, details, created_at FROM audit_log
        WHERE created_at >= ${row.createdAt} AND created_at <= ${row.expiresAt} AND tenant_id = ${tenantId}
          AND (subject = ${id} OR details->>'authRequestId' = ${id})
        ORDER BY created_at, seq`)
      return { row, messages, audit }
    }))

  return { list, detail }
})

export type RequestQueries = Effect.Success<typeof make>
