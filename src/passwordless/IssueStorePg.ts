import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { isSqlError } from "effect/sql/SqlError"
import { MESSAGE_COLUMNS, messageRow } from "../delivery/OutboxPg.ts"
import { currentRows, decisionOf, isRefusal, limitSql, type LimitRow, refusalOf } from "../limits/LimitSql.ts"
import { Secrets } from "../platform/Secrets.ts"
import { unavailable } from "../platform/Sql.ts"
import { IssueStore } from "./IssueStore.ts"

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value))

/**
 * The send as ONE statement, no BEGIN/COMMIT: the limit gate and upserts, the auth request and its
 * outbox row. The inserts run only when every limit admitted the request (`admitted`), and a limit a
 * racing request filled meanwhile aborts the whole statement (`partial`), so a refused send writes
 * nothing and counts nowhere. Only a refusal reads more, to say when to retry.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const secrets = yield* Secrets
  const messageColumns = sql.unsafe(MESSAGE_COLUMNS)

  return IssueStore.of({
    issue: ({ row, message, checks, now }) =>
      unavailable(Effect.gen(function* () {
        const nowMs = now.getTime()
        const limits = limitSql(sql, row.tenantId, checks, nowMs)
        const m = messageRow(secrets, message, now)
        const [tenantId, id, mode, authRequestId, channel, recipient, payload, status, provider, attempts, next, expires, created, sent] =
          m.values
        const admitted = yield* sql<LimitRow>`
          WITH ${limits.ctes},
          ar AS (
            INSERT INTO auth_requests (tenant_id, id, mode, channel, type, identifier, email, phone, code_hash, code_length,
              link_hash, code_challenge, redirect_url, state, template, locale, metadata, approval, render_options, client_ip,
              user_agent, attempts, max_attempts, resends, last_sent_at, created_at, expires_at, verified_at, user_id,
              sealed_credentials, risk_score, risk_signals)
            SELECT ${row.tenantId}::text, ${row.id}::text, ${row.mode}::text, ${row.channel}::text, ${row.type}::text,
              ${row.identifier}::text, ${row.email}::text, ${row.phone}::text, ${row.codeHash}::bytea, ${row.codeLength}::int,
              ${row.linkHash}::bytea, ${row.codeChallenge}::text, ${row.redirectUrl}::text, ${row.state}::text,
              ${row.template}::text, ${row.locale}::text, ${json(row.metadata)}::jsonb, ${json(row.approval)}::jsonb,
              ${json(row.renderOptions)}::jsonb, ${row.clientIp}::text, ${row.userAgent}::text, ${row.attempts}::int,
              ${row.maxAttempts}::int, ${row.resends}::int, ${row.lastSentAt}::timestamptz, ${row.createdAt}::timestamptz,
              ${row.expiresAt}::timestamptz, ${row.verifiedAt}::timestamptz, ${row.userId}::text,
              ${row.sealedCredentials ?? null}::bytea, ${row.riskScore ?? null}::real, ${json(row.riskSignals)}::jsonb
            WHERE ${limits.admitted}
            RETURNING id
          ),
          msg AS (
            INSERT INTO messages (${messageColumns})
            SELECT ${tenantId}::text, ${id}::text, ${mode}::text, ${authRequestId}::text, ${channel}::text, ${recipient}::text,
              ${payload}::bytea, ${status}::text, ${provider}::text, ${attempts}::int, ${next}::timestamptz,
              ${expires}::timestamptz, ${created}::timestamptz, ${sent}::timestamptz
            FROM ar
          )
          SELECT * FROM (${limits.rows}) AS lim_rows WHERE ${limits.partial} = 0`.pipe(
          Effect.catchIf(isSqlError, (error) => isRefusal(error) ? Effect.succeed([]) : Effect.fail(error))
        )
        if (admitted.length === checks.length) {
          return { decision: decisionOf(checks, admitted, new Map(), nowMs), messageId: m.id }
        }
        const current = yield* currentRows(sql, row.tenantId, checks, [])
        return { decision: refusalOf(checks, current, nowMs), messageId: undefined }
      }))
  })
})

export const layer = Layer.effect(IssueStore)(make)
