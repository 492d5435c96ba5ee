import { Clock, ConfigProvider, Context, Effect, Layer, Random } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import { AppConfig, type RetentionConfig, retentionConfig } from "../platform/Config.ts"
import { type Kind, KINDS, RetentionStore } from "./RetentionStore.ts"

export type SweepCounts = Readonly<Record<Kind, number>>

const periodOf: Record<Kind, (config: RetentionConfig) => number> = {
  webhookDeliveries: (c) => c.webhookDeliveriesMs,
  events: (c) => c.eventsMs,
  authRequests: (c) => c.authRequestsMs,
  exchangeCodes: (c) => c.exchangeCodesMs,
  payloads: (c) => c.payloadsMs,
  testMessages: (c) => c.testMessagesMs,
  messages: (c) => c.messagesMs,
  audit: (c) => c.auditMs
}

/** Batches between two progress lines of one kind's backlog. */
const PROGRESS_EVERY = 100

const TABLES: Record<Kind, string> = {
  webhookDeliveries: "webhook_deliveries", events: "events", authRequests: "auth_requests", exchangeCodes: "exchange_codes",
  payloads: "message_payloads", testMessages: "test_messages", messages: "messages", audit: "audit_log"
}

export class Retention extends Context.Service<Retention, {
  /** One pass over every kind, batch after batch until none is left; the cutoffs come from Clock at its start. */
  readonly sweep: Effect.Effect<SweepCounts, ServiceUnavailable>
}>()("sesame/Retention") {}

export const make = (config: RetentionConfig) =>
  Effect.map(RetentionStore, (store) =>
    Retention.of({
      sweep: Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const counts = {} as Record<Kind, number>
        for (const kind of KINDS) {
          // A row goes once its time (expiry, creation or completion) plus its kind's period is now or past.
          const cutoff = new Date(started - periodOf[kind](config))
          let removed = 0
          let batches = 0
          while (true) {
            const n = yield* store.remove(kind, cutoff, config.batchSize)
            removed += n
            // A short batch: nothing is left but rows other transactions hold (the next sweep takes them).
            if (n < config.batchSize) break
            // A long backlog (the first sweep of an old database): a progress line every 100 batches.
            if (++batches % PROGRESS_EVERY === 0) yield* Effect.log(`retention sweep: ${removed} ${TABLES[kind]} rows removed so far`)
          }
          counts[kind] = removed
        }
        if (KINDS.some((kind) => counts[kind] > 0)) {
          const ms = (yield* Clock.currentTimeMillis) - started
          const what = KINDS.filter((kind) => counts[kind] > 0).map((kind) => `${TABLES[kind]}=${counts[kind]}`).join(" ")
          yield* Effect.log(`retention sweep removed ${what} in ${ms} ms`)
        }
        return counts
      }).pipe(Effect.withSpan("Retention.sweep"))
    }))

/** Every kind's default period (README "Retention"): the settings read from an empty environment. */
export const defaults: Effect.Effect<RetentionConfig> = Effect.orDie(retentionConfig.parse(ConfigProvider.fromEnv({ env: {} })))

/**
 * Sweeps in the background until the scope closes, pausing 0.5–1.5× the interval between passes so
 * that processes started together do not sweep in step. A failed pass is logged and the next one
 * tries again; every pass is safe alongside the other processes' (RetentionStorePg).
 */
const loop = (retention: Retention["Service"], intervalMs: number) =>
  Effect.gen(function* () {
    while (true) {
      yield* Effect.sleep(Math.round(intervalMs * (0.5 + (yield* Random.next))))
      yield* retention.sweep.pipe(Effect.catchCause((cause) => Effect.logError("retention sweep failed", cause)), Effect.asVoid)
    }
  })

/** The sweep, and its background loop unless `RETENTION_ENABLED=false` (or the config has no retention part). */
export const layer = Layer.effect(Retention)(Effect.gen(function* () {
  const settings = (yield* AppConfig).retention
  const retention = yield* make(settings ?? (yield* defaults))
  if (settings?.enabled === true) yield* Effect.forkScoped(loop(retention, settings.intervalMs))
  return retention
}))
