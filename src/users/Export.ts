import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { User } from "../api/Shapes.ts"
import type { UserExport } from "../api/Users.ts"
import { AuthRequestId, AuthType, Channel } from "../domain/Ids.ts"
import { decodeSessionRow, SESSION_COLUMNS, type Scope, toSessionInfo } from "../sessions/SessionStore.ts"

const iso = (d: Date | null) => d === null ? null : d.toISOString()

const RequestRow = Schema.Struct({
  id: AuthRequestId,
  channel: Channel,
  type: AuthType,
  identifier: Schema.String,
  createdAt: Schema.Date,
  expiresAt: Schema.Date,
  verifiedAt: Schema.NullOr(Schema.Date),
  clientIp: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  state: Schema.NullOr(Schema.String),
  metadata: Schema.NullOr(Schema.Json)
})
const MessageRow = Schema.Struct({
  id: Schema.String,
  channel: Channel,
  recipient: Schema.String,
  status: Schema.String,
  createdAt: Schema.Date,
  sentAt: Schema.NullOr(Schema.Date)
})
const EventRow = Schema.Struct({ id: Schema.String, type: Schema.String, createdAt: Schema.Date, payload: Schema.Json })

const decodeAll = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => (rows: ReadonlyArray<unknown>) =>
  Effect.orDie(Effect.forEach(rows, (row) => Schema.decodeUnknownEffect(schema)(row)))

/** Everything held about `user` in its tenant and mode (GDPR Art. 15 and 20); secrets (hashes, ciphertexts) left out. */
export const exportUser = (scope: Scope, user: User, now: Date): Effect.Effect<UserExport, SqlError, PgClient.PgClient> =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const inScope = sql`tenant_id = ${scope.tenantId} AND mode = ${scope.mode}`
    const ids = [user.email, user.phone].filter((v): v is string => v !== null)
    const requestIds = sql`SELECT id FROM auth_requests WHERE ${inScope}
      AND (user_id = ${user.id} OR identifier = ANY(${ids}::text[]))`
    const [sessions, requests, messages, events] = yield* Effect.all([
      sql`SELECT ${sql.unsafe(SESSION_COLUMNS)} FROM sessions WHERE ${inScope} AND user_id = ${user.id} ORDER BY created_at, id`
        .pipe(Effect.flatMap((rows) => Effect.orDie(Effect.forEach(rows, (r) => decodeSessionRow(r))))),
      sql`SELECT id, channel, type, identifier, created_at, expires_at, verified_at, client_ip, user_agent, state, metadata
        FROM auth_requests WHERE ${inScope} AND id IN (${requestIds}) ORDER BY created_at, id`.pipe(Effect.flatMap(decodeAll(RequestRow))),
      sql`SELECT id, channel, recipient, status, created_at, sent_at FROM messages
        WHERE ${inScope} AND (recipient = ANY(${ids}::text[]) OR auth_request_id IN (${requestIds})) ORDER BY created_at, id`
        .pipe(Effect.flatMap(decodeAll(MessageRow))),
      sql`SELECT id, type, created_at, payload FROM events WHERE ${inScope} AND payload->>'userId' = ${user.id}
        ORDER BY created_at, id`.pipe(Effect.flatMap(decodeAll(EventRow)))
    ])
    return {
      exportedAt: now.toISOString(),
      user,
      sessions: sessions.map(toSessionInfo),
      authRequests: requests.map((r) => ({
        id: r.id, channel: r.channel, type: r.type, identifier: r.identifier, createdAt: r.createdAt.toISOString(),
        expiresAt: r.expiresAt.toISOString(), verifiedAt: iso(r.verifiedAt), ipAddress: r.clientIp, userAgent: r.userAgent,
        state: r.state, metadata: r.metadata
      })),
      messages: messages.map((m) => ({
        id: m.id, channel: m.channel, to: m.recipient, status: m.status, createdAt: m.createdAt.toISOString(), sentAt: iso(m.sentAt)
      })),
      events: events.map((e) => ({ id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), payload: e.payload }))
    }
  })
