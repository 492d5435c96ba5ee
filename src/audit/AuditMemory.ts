import { Clock, Effect, Layer } from "effect"
import { Audit, type AuditEvent, RequestContext, SAMPLE_MS } from "./Audit.ts"

/** The in-memory audit log for service tests: the same stamping and sampling, kept in an array. */
export const make = Effect.sync(() => {
  const events: Array<AuditEvent & { readonly tenantId: string }> = []
  const lastSampled = new Map<string, number>()
  const record = (entry: Parameters<Audit["Service"]["record"]>[0]) =>
    Effect.gen(function* () {
      const context = yield* RequestContext
      const now = yield* Clock.currentTimeMillis
      events.push({
        tenantId: entry.tenantId, cursor: String(events.length + 1), id: `aud_${events.length + 1}`, mode: entry.mode,
        type: entry.type, actor: context.actor, ip: context.ip, requestId: context.requestId, subject: entry.subject,
        details: entry.details, createdAt: new Date(now)
      })
    })
  return Audit.of({
    record,
    sampled: (sampleKey, entry) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const key = `${entry.tenantId}\u0000${sampleKey}`
        const last = lastSampled.get(key)
        if (last !== undefined && now - last < SAMPLE_MS) return Effect.void
        lastSampled.set(key, now)
        return record(entry)
      }),
    list: (tenantId, mode, page, filter = {}) =>
      Effect.succeed(events
        .filter((e) => e.tenantId === tenantId && (e.mode === mode || e.mode === null))
        .filter((e) => page.before === undefined || Number(e.cursor) < Number(page.before))
        .filter((e) => (filter.type === undefined || e.type === filter.type) && (filter.actor === undefined || e.actor === filter.actor) &&
          (filter.subject === undefined || e.subject === filter.subject) &&
          (filter.from === undefined || e.createdAt >= filter.from) && (filter.to === undefined || e.createdAt < filter.to))
        .reverse()
        .slice(0, page.limit))
  })
})

export const layer = Layer.effect(Audit)(make)
