import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { unavailable } from "../platform/Sql.ts"
import type { AuthRequestRow, Key } from "./CodeStore.ts"
import { CodeStore, ConsumeResult, ResendResult } from "./CodeStore.ts"
import { blocked } from "./Rules.ts"

export const COLUMNS = "tenant_id, id, mode, channel, type, identifier, email, phone, code_hash, code_length, link_hash, code_challenge, " +
  "redirect_url, state, template, locale, metadata, approval, render_options, client_ip, user_agent, attempts, max_attempts, resends, " +
  "last_sent_at, created_at, expires_at, verified_at, user_id, sealed_credentials, risk_score, risk_signals"

// rows are written only by this store, with these columns; `real` reads back as 0.7699999…: rounded to the 3 decimals written
export const rowOf = (r: unknown): AuthRequestRow => {
  const row = r as AuthRequestRow
  return typeof row.riskScore === "number" ? { ...row, riskScore: Math.round(row.riskScore * 1000) / 1000 } : row
}

/** The reads that explain, after the fact, why a one-statement consume changed nothing. They never decide anything. */
export const makeExplain = (sql: PgClient.PgClient) => {
  const cols = sql.unsafe(COLUMNS)
  const lockedUntil = (key: Key, identifier: string) =>
    sql<{ lockedUntil: Date | null }>`SELECT locked_until FROM identifier_failures
      WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND identifier = ${identifier}`.pipe(
      Effect.map((rows) => rows[0]?.lockedUntil ?? null)
    )
  // the link_hash index, or the GIN index on the links a `keep` resend kept valid
  const linkIs = (hash: Uint8Array) => sql`(link_hash = ${hash} OR kept_link_hashes @> ARRAY[${hash}::bytea])`
  const get = (key: Key, id: string) =>
    sql`SELECT ${cols} FROM auth_requests WHERE tenant_id = ${key.tenantId} AND id = ${id} AND mode = ${key.mode}`.pipe(
      Effect.map((rows) => rows[0] === undefined ? undefined : rowOf(rows[0]))
    )
  /** `check` sees the row first (the bound-email rule of a verify); what it returns wins. */
  const explain = Effect.fnUntraced(function* <A = never>(
    key: Key, id: string | null, linkHash: Uint8Array | null, now: Date, check?: (row: AuthRequestRow) => A | undefined
  ) {
    const rows = linkHash !== null
      ? yield* sql`SELECT ${cols} FROM auth_requests WHERE tenant_id = ${key.tenantId} AND ${linkIs(linkHash)} AND mode = ${key.mode}`
      : yield* sql`SELECT ${cols} FROM auth_requests WHERE tenant_id = ${key.tenantId} AND id = ${id} AND mode = ${key.mode}`
    if (rows[0] === undefined) return ConsumeResult.NotFound()
    const row = rowOf(rows[0])
    const first = check?.(row)
    if (first !== undefined) return first
    // The link is real but was issued for another request than the one the app kept from send.
    if (id !== null && row.id !== id) return ConsumeResult.OriginMismatch()
    return blocked(row, now, yield* lockedUntil(key, row.identifier)) ?? ConsumeResult.NotFound()
  })
  return { explain, get, lockedUntil, linkIs }
}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const cols = sql.unsafe(COLUMNS)
  const { explain, get, lockedUntil, linkIs } = makeExplain(sql)

  return CodeStore.of({
    insert: (row) =>
      unavailable(sql`INSERT INTO auth_requests ${sql.insert({
        ...row,
        metadata: row.metadata === null ? null : sql.json(row.metadata),
        approval: row.approval === null ? null : sql.json(row.approval),
        renderOptions: row.renderOptions === null ? null : sql.json(row.renderOptions),
        riskScore: row.riskScore ?? null,
        riskSignals: row.riskSignals === undefined || row.riskSignals === null ? null : sql.json(row.riskSignals)
      })}`.pipe(Effect.asVoid)),

    get: (key, id) => unavailable(get(key, id)),

    latestFor: (key, identifier, boundEmail) =>
      unavailable((boundEmail === true
        ? sql`SELECT ${cols} FROM auth_requests
          WHERE tenant_id = ${key.tenantId} AND email = ${identifier} AND mode = ${key.mode} AND channel = 'sms'
            AND email IS NOT NULL AND verified_at IS NULL
          ORDER BY created_at DESC LIMIT 1`
        : sql`SELECT ${cols} FROM auth_requests
          WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND identifier = ${identifier} AND verified_at IS NULL
          ORDER BY created_at DESC LIMIT 1`).pipe(Effect.map((rows) => rows[0] === undefined ? undefined : rowOf(rows[0])))),

    /**
     * Single use and the attempt cap are decided by this one UPDATE: the row lock serialises concurrent
     * verifies of one request on any number of processes, `verified_at IS NULL` lets at most one win, and
     * `attempts < max_attempts` in the WHERE clause means attempts can never pass the cap. Hashes are
     * compared in SQL; they are HMAC/SHA-256 outputs, so timing reveals nothing about the code itself.
     */
    consume: (key, target, now) =>
      unavailable(Effect.gen(function* () {
        const { proof } = target
        // resendStrategy "keep": earlier codes and links of the request match too
        const matches = proof._tag === "Code"
          ? sql`(code_hash = ${proof.hash} OR ${proof.hash}::bytea = ANY(kept_code_hashes))`
          : sql`${linkIs(proof.hash)} AND (code_challenge IS NULL OR code_challenge = ${proof.challenge})`
        const which = target.id !== null
          ? sql`id = ${target.id}${proof._tag === "Link" ? sql` AND ${linkIs(proof.hash)}` : sql``}`
          : proof._tag === "Link" ? linkIs(proof.hash) : sql`FALSE`
        const rows = yield* sql`
          UPDATE auth_requests a SET
            attempts = a.attempts + 1,
            verified_at = CASE WHEN ${matches} THEN ${now}::timestamptz ELSE NULL END,
            sealed_credentials = CASE WHEN ${matches} THEN NULL ELSE a.sealed_credentials END
          WHERE a.tenant_id = ${key.tenantId} AND a.mode = ${key.mode} AND ${which}
            AND a.verified_at IS NULL AND a.expires_at > ${now} AND a.attempts < a.max_attempts
            AND NOT EXISTS (SELECT 1 FROM identifier_failures f
              WHERE f.tenant_id = a.tenant_id AND f.mode = a.mode AND f.identifier = a.identifier AND f.locked_until > ${now})
          RETURNING ${cols}`
        if (rows[0] === undefined) {
          return yield* explain(key, target.id, proof._tag === "Link" ? proof.hash : null, now)
        }
        const row = rowOf(rows[0])
        return row.verifiedAt !== null
          ? ConsumeResult.Verified({ request: row })
          : ConsumeResult.Invalid({ attemptsRemaining: row.maxAttempts - row.attempts, identifier: row.identifier })
      })),

    /** One upsert: consecutive failures across every request of the identifier (a resend never resets them). */
    recordFailure: (key, identifier, policy, now) =>
      unavailable(sql<{ locked: boolean }>`
        INSERT INTO identifier_failures AS f (tenant_id, mode, identifier, failures, locked_until, updated_at)
        VALUES (${key.tenantId}, ${key.mode}, ${identifier},
                CASE WHEN 1 >= ${policy.maxFailures} THEN 0 ELSE 1 END,
                CASE WHEN 1 >= ${policy.maxFailures} THEN ${new Date(now.getTime() + policy.lockMs)}::timestamptz END, ${now})
        ON CONFLICT (tenant_id, mode, identifier) DO UPDATE SET
          failures = CASE WHEN f.failures + 1 >= ${policy.maxFailures} THEN 0
                          ELSE f.failures + 1 END,
          locked_until = CASE WHEN f.failures + 1 >= ${policy.maxFailures}
                              THEN ${new Date(now.getTime() + policy.lockMs)}::timestamptz
                              ELSE f.locked_until END,
          updated_at = ${now}
        RETURNING f.failures = 0 AND f.locked_until = ${new Date(now.getTime() + policy.lockMs)}::timestamptz AS locked`.pipe(
        Effect.map((rows) => rows[0]?.locked === true)
      )),

    resetFailures: (key, identifier, now) =>
      unavailable(sql`UPDATE identifier_failures SET failures = 0, updated_at = ${now}
        WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND identifier = ${identifier} AND failures > 0`.pipe(
        Effect.asVoid
      )),

    resend: (key, id, update, now) =>
      unavailable(Effect.gen(function* () {
        const rows = yield* sql`
          UPDATE auth_requests a SET
            code_hash = COALESCE(${update.codeHash}::bytea, a.code_hash),
            link_hash = COALESCE(${update.linkHash}::bytea, a.link_hash),
            kept_code_hashes = CASE WHEN ${update.keep === true} AND ${update.codeHash}::bytea IS NOT NULL AND a.code_hash IS NOT NULL
                               THEN array_append(a.kept_code_hashes, a.code_hash) ELSE a.kept_code_hashes END,
            kept_link_hashes = CASE WHEN ${update.keep === true} AND ${update.linkHash}::bytea IS NOT NULL AND a.link_hash IS NOT NULL
                               THEN array_append(a.kept_link_hashes, a.link_hash) ELSE a.kept_link_hashes END,
            resends = a.resends + 1,
            last_sent_at = ${now}
          WHERE a.tenant_id = ${key.tenantId} AND a.id = ${id} AND a.mode = ${key.mode}
            AND a.verified_at IS NULL AND a.expires_at > ${now} AND a.attempts < a.max_attempts
            AND a.last_sent_at <= ${new Date(now.getTime() - update.cooldownMs)} AND a.resends < ${update.maxResends}
            AND NOT EXISTS (SELECT 1 FROM identifier_failures f
              WHERE f.tenant_id = a.tenant_id AND f.mode = a.mode AND f.identifier = a.identifier AND f.locked_until > ${now})
          RETURNING ${cols}`
        if (rows[0] !== undefined) return ResendResult.Resent({ request: rowOf(rows[0]) })
        const current = yield* get(key, id)
        if (current === undefined) return ResendResult.NotFound()
        const reason = blocked(current, now, yield* lockedUntil(key, current.identifier))
        if (reason?._tag === "AlreadyUsed") return ResendResult.AlreadyUsed()
        if (reason?._tag === "Expired") return ResendResult.Expired()
        if (reason?._tag === "Locked") return ResendResult.Locked({ retryAfterMs: reason.retryAfterMs })
        const wait = current.lastSentAt.getTime() + update.cooldownMs - now.getTime()
        if (wait > 0) return ResendResult.TooSoon({ retryAfterMs: wait })
        return ResendResult.TooMany()
      }))
  })
})

export const layer = Layer.effect(CodeStore)(make)
