import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer } from "effect"
import { randomId } from "../platform/Crypto.ts"
import { unavailable } from "../platform/Sql.ts"
import { Audit, type AuditEntry, type AuditEvent, RequestContext, SAMPLE_MS } from "./Audit.ts"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const lastSampled = new Map<string, number>()

  const record = (entry: AuditEntry) =>
    Effect.gen(function* () {
      const context = yield* RequestContext
      const now = new Date(yield* Clock.currentTimeMillis)
      yield* unavailable(sql`INSERT INTO audit_log ${sql.insert({
        tenantId: entry.tenantId,
        id: randomId("aud"),
        mode: entry.mode,
        type: entry.type,
        actor: context.actor,
        ip: context.ip,
        requestId: context.requestId,
        subject: entry.subject,
        details: sql.json(entry.details),
        createdAt: now
      })}`)
    })

  return Audit.of({
    record,
    sampled: (sampleKey, entry) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const key = `${entry.tenantId}\u0000${sampleKey}`
        const last = lastSampled.get(key)
        if (last !== undefined && now - last < SAMPLE_MS) return Effect.void
        if (lastSampled.size > 10_000) lastSampled.clear()
        lastSampled.set(key, now)
        return record(entry)
      }),
    list: (tenantId, mode, page, filter = {}) =>
      unavailable(sql<Omit<AuditEvent, "cursor"> & { readonly cursor: string }>`
        SELECT seq::text AS cursor, id, mode, type, actor, ip, request_id, subject, details, created_at FROM audit_log
        WHERE tenant_id = ${tenantId} AND (mode = ${mode} OR mode IS NULL)
          ${page.before === undefined ? sql`` : sql`AND seq < ${page.before}::bigint`}
          ${filter.type === undefined ? sql`` : sql`AND type = ${filter.type}`}
          ${filter.actor === undefined ? sql`` : sql`AND actor = ${filter.actor}`}
          ${filter.subject === undefined ? sql`` : sql`AND subject = ${filter.subject}`}
          ${filter.from === undefined ? sql`` : sql`AND created_at >= ${filter.from}`}
          ${filter.to === undefined ? sql`` : sql`AND created_at < ${filter.to}`}
        ORDER BY seq DESC LIMIT ${page.limit}`)
  })
})

export const layer = Layer.effect(Audit)(make)
