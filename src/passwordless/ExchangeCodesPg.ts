import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import type { AuthRequestId } from "../domain/Ids.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import { unavailable } from "../platform/Sql.ts"
import { ExchangeCodes, RedeemResult } from "./ExchangeCodes.ts"

const COLUMNS = "tenant_id, id, mode, channel, type, identifier, email, phone, code_hash, code_length, link_hash, code_challenge, " +
  "redirect_url, state, template, locale, metadata, approval, render_options, client_ip, user_agent, attempts, max_attempts, resends, " +
  "last_sent_at, created_at, expires_at, verified_at, user_id, sealed_credentials"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return ExchangeCodes.of({
    requestForLink: (hash) =>
      unavailable(sql`SELECT ${sql.unsafe(COLUMNS)} FROM auth_requests
        WHERE link_hash = ${hash} OR kept_link_hashes @> ARRAY[${hash}::bytea] LIMIT 1`.pipe(
        // rows are written only by the CodeStore, with these columns
        Effect.map((rows) => rows[0] as AuthRequestRow | undefined)
      )),

    pendingFor: (key, authRequestId, now) =>
      unavailable(sql<{ createdAt: Date }>`SELECT created_at FROM exchange_codes
        WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND auth_request_id = ${authRequestId}
          AND used_at IS NULL AND expires_at > ${now}
        ORDER BY created_at DESC LIMIT 1`.pipe(Effect.map((rows) => rows[0]?.createdAt))),

    insert: (row) => unavailable(sql`INSERT INTO exchange_codes ${sql.insert({ ...row })}`.pipe(Effect.asVoid)),

    /**
     * Single use is this one UPDATE: the row lock serialises concurrent redeems on any process and
     * `used_at IS NULL` lets at most one win. The self-join hands back the sealed response as it was
     * before the same statement wiped it.
     */
    redeem: (key, hash, authRequestId, challenge, now) =>
      unavailable(Effect.gen(function* () {
        const rows = yield* sql<{ authRequestId: AuthRequestId; sealedResponse: Uint8Array }>`
          UPDATE exchange_codes e SET used_at = ${now}, sealed_response = NULL
          FROM exchange_codes old
          WHERE old.code_hash = e.code_hash AND e.code_hash = ${hash}
            AND e.tenant_id = ${key.tenantId} AND e.mode = ${key.mode}
            AND e.used_at IS NULL AND e.expires_at > ${now}
            AND (e.code_challenge IS NULL OR e.code_challenge = ${challenge})
            ${authRequestId === null ? sql`` : sql`AND e.auth_request_id = ${authRequestId}`}
          RETURNING e.auth_request_id, old.sealed_response`
        const hit = rows[0]
        if (hit !== undefined) return RedeemResult.Redeemed(hit)
        // Explains, after the fact, why nothing changed; decides nothing.
        const seen = yield* sql<{ usedAt: Date | null; expiresAt: Date; authRequestId: AuthRequestId }>`
          SELECT used_at, expires_at, auth_request_id FROM exchange_codes
          WHERE code_hash = ${hash} AND tenant_id = ${key.tenantId} AND mode = ${key.mode}`
        const row = seen[0]
        if (row === undefined) return RedeemResult.NotFound()
        if (row.usedAt !== null) return RedeemResult.AlreadyUsed()
        if (row.expiresAt.getTime() <= now.getTime()) return RedeemResult.Expired()
        if (authRequestId !== null && row.authRequestId !== authRequestId) return RedeemResult.OtherRequest()
        return RedeemResult.NotFound() // wrong PKCE verifier: as generic as verify's answer
      }))
  })
})

export const layer = Layer.effect(ExchangeCodes)(make)
