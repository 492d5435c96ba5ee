import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { unavailable } from "../platform/Sql.ts"
import { RiskScorer, staticSignals } from "./RiskScorer.ts"
import { scoreOf } from "./Score.ts"
import { VELOCITY_WINDOW_MS } from "./Weights.ts"

interface HistoryRow {
  readonly phoneSends: number
  readonly ipPhones: number
  readonly prefixSends: number
  readonly failedVerifications: number
}

/** The velocity signals come from our own auth requests and failure counters, in one statement. */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return RiskScorer.of({
    score: (input) =>
      Effect.gen(function* () {
        const since = new Date(input.nowMs - VELOCITY_WINDOW_MS)
        const pattern = `${input.phone.prefix.replace(/[\\%_]/g, "\\$&")}%`
        const rows = yield* unavailable(sql<HistoryRow>`
          SELECT
            count(*) FILTER (WHERE identifier = ${input.phone.e164})::int AS phone_sends,
            count(DISTINCT identifier) FILTER (WHERE ${input.ip}::text IS NOT NULL AND client_ip = ${input.ip}::text)::int AS ip_phones,
            count(*) FILTER (WHERE identifier LIKE ${pattern})::int AS prefix_sends,
            COALESCE((SELECT failures FROM identifier_failures f WHERE f.tenant_id = ${input.tenantId}
              AND f.mode = ${input.mode} AND f.identifier = ${input.phone.e164}), 0)::int AS failed_verifications
          FROM auth_requests
          WHERE tenant_id = ${input.tenantId} AND mode = ${input.mode} AND channel = 'sms' AND created_at > ${since}`)
        const h = rows[0] ?? { phoneSends: 0, ipPhones: 0, prefixSends: 0, failedVerifications: 0 }
        return scoreOf(staticSignals(input, h))
      })
  })
})

export const layer = Layer.effect(RiskScorer)(make)
