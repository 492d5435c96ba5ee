import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { UserId } from "../domain/Ids.ts"
import type { Scope } from "../sessions/SessionStore.ts"

export interface ErasedUser {
  readonly id: UserId
  readonly email: string | null
  readonly phone: string | null
}

/** Event payload keys that carry personal data; nulled in every event about the erased user. */
const PERSONAL_KEYS = ["email", "phone", "ip", "userAgent", "to", "recipient"]

/**
 * GDPR Art. 17 erasure of one user of one tenant and mode, to run inside a transaction after the
 * user's sessions were revoked: every row that holds the user's email or phone is deleted or scrubbed,
 * the `users` row goes, and one `user.deleted` event (the user id only) stays as the audit entry.
 */
export const eraseUser = (scope: Scope, user: ErasedUser, now: Date): Effect.Effect<void, SqlError, PgClient.PgClient> =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const { tenantId, mode } = scope
    const ids = [user.email, user.phone].filter((v): v is string => v !== null)
    const inScope = sql`tenant_id = ${tenantId} AND mode = ${mode}`
    const mentions = (column: ReturnType<typeof sql.unsafe>) =>
      sql`EXISTS (SELECT 1 FROM unnest(${ids}::text[]) AS i (v) WHERE strpos(${column}, i.v) > 0)`

    yield* sql`UPDATE sessions SET client_ip = NULL, user_agent = NULL WHERE ${inScope} AND user_id = ${user.id}`
    const requests = sql`SELECT id FROM auth_requests WHERE ${inScope}
      AND (user_id = ${user.id} OR identifier = ANY(${ids}::text[]) OR email = ANY(${ids}::text[]) OR phone = ANY(${ids}::text[]))`
    yield* sql`DELETE FROM messages WHERE ${inScope} AND (recipient = ANY(${ids}::text[]) OR auth_request_id IN (${requests}))`
    yield* sql`DELETE FROM auth_requests WHERE ${inScope} AND id IN (${requests})`
    yield* sql`DELETE FROM identifier_failures WHERE ${inScope} AND identifier = ANY(${ids}::text[])`
    // Rate-limit buckets are named `<limit>:<mode>:<identifier>` (limits/Limits.ts), in either store.
    const suffixes = ids.map((id) => `:${mode}:${id}`)
    for (const table of ["rate_limits", "rate_windows"]) {
      yield* sql`DELETE FROM ${sql(table)} WHERE tenant_id = ${tenantId}
        AND EXISTS (SELECT 1 FROM unnest(${suffixes}::text[]) AS s (v) WHERE right(bucket, char_length(s.v)) = s.v)`
    }
    // Events are kept for the audit trail, but no value in them may still name the person.
    yield* sql`
      UPDATE events SET payload = (
        SELECT COALESCE(jsonb_object_agg(p.k, CASE
          WHEN p.k = ANY(${PERSONAL_KEYS}::text[]) OR ${mentions(sql.unsafe("p.v::text"))} THEN 'null'::jsonb
          ELSE p.v END), '{}'::jsonb)
        FROM jsonb_each(payload) AS p (k, v))
      WHERE ${inScope} AND (payload->>'userId' = ${user.id} OR ${mentions(sql.unsafe("payload::text"))})`
    yield* sql`DELETE FROM users WHERE ${inScope} AND id = ${user.id}`
    yield* sql`INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
      VALUES (${tenantId}, 'evt_' || replace(gen_random_uuid()::text, '-', ''), ${mode}, 'user.deleted',
        jsonb_build_object('userId', ${user.id}::text), ${now})`
  })
