import { Clock, Data, Effect, Layer, Random } from "effect"
import { Audit } from "../audit/Audit.ts"
import { Metrics } from "../observability/Metrics.ts"
import { AppConfig } from "../platform/Config.ts"
import { whileRenewing } from "../platform/Lease.ts"
import { forkDraining, Lifecycle } from "../platform/Lifecycle.ts"
import { Secrets } from "../platform/Secrets.ts"
import { Transaction } from "../platform/Transaction.ts"
import { webhookBody } from "./Payload.ts"
import { OutboundError } from "./Resolver.ts"
import { retryAfterMs, retryDelayMs } from "./Schedule.ts"
import { WebhookSender } from "./Sender.ts"
import { signatureHeaders } from "./Signature.ts"
import { type AttemptRecord, type Claimed, type Outcome, secretAad, WebhookStore } from "./WebhookStore.ts"

export interface WebhookWorkerOptions {
  readonly pollMs: number
  /** Milliseconds per second of the retry schedule (Schedule.ts): 1000 in production. */
  readonly retryBaseMs: number
  readonly timeoutMs: number
  /** At most this many claimed per pass (and never more than `concurrency`: a claimed delivery is sent at once). */
  readonly batchSize: number
  readonly concurrency: number
  /**
   * A claim holds this long unrenewed, and is renewed every third of it while its request runs (up to
   * `timeoutMs`, then recording): a crashed process's deliveries are claimed again within it.
   */
  readonly leaseMs: number
  /** An endpoint whose every delivery has failed for this long is disabled. */
  readonly disableAfterMs: number
  readonly fanOutBatch: number
}

export const defaults: WebhookWorkerOptions = {
  pollMs: 1000,
  retryBaseMs: 1000,
  timeoutMs: 10_000,
  batchSize: 10,
  concurrency: 10,
  leaseMs: 10_000,
  disableAfterMs: 5 * 86_400_000,
  fanOutBatch: 500
}

const nowMs = Clock.currentTimeMillis

/** This delivery can never be sent (its event is gone, its secret no longer opens): no retry helps. */
class Unsendable extends Data.TaggedError("Unsendable")<{ readonly reason: string }> {}

const hostOf = (url: string) => (URL.canParse(url) ? new URL(url).host : "")

const outcomeOf = (
  claimed: Claimed, response: { readonly status: number; readonly retryAfter: string | undefined } | undefined,
  unsendable: boolean, now: number, options: WebhookWorkerOptions, random01: number
): Outcome => {
  if (response !== undefined && response.status >= 200 && response.status < 300) return { _tag: "Succeeded" }
  if (unsendable) return { _tag: "Failed", disable: null }
  // Standard Webhooks: 410 Gone means "stop sending": the endpoint is disabled at once.
  if (response?.status === 410) return { _tag: "Failed", disable: "the endpoint answered 410 Gone" }
  const delay = retryDelayMs(claimed.attempts, options.retryBaseMs, random01)
  if (delay === undefined) return { _tag: "Failed", disable: null }
  const asked = response?.status === 429 || response?.status === 503 ? retryAfterMs(response.retryAfter, now) : undefined
  return { _tag: "Retry", nextAttemptAt: new Date(now + Math.max(delay, asked ?? 0)) }
}

const errorOf = (status: number): string | null =>
  status >= 200 && status < 300 ? null
    : status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)`
    : `HTTP ${status}`

const deliverOnce = (claimed: Claimed, options: WebhookWorkerOptions) =>
  Effect.gen(function* () {
    const secrets = yield* Secrets
    const sender = yield* WebhookSender
    const started = yield* nowMs
    const event = claimed.event
    const send = Effect.gen(function* () {
      if (event === null) return yield* new Unsendable({ reason: "the event no longer exists" })
      const aad = secretAad(claimed.tenantId, claimed.endpointId)
      const keys = yield* Effect.try({
        try: () => [claimed.secretEnc, ...(claimed.previousSecretEnc === null ? [] : [claimed.previousSecretEnc])]
          .map((sealed) => secrets.open(sealed, aad)),
        catch: () => new Unsendable({ reason: "the endpoint's secret cannot be decrypted (SESAME_SECRET changed?)" })
      })
      const body = webhookBody(event)
      const headers = {
        "content-type": "application/json",
        "user-agent": "Sesame-Webhooks/1",
        ...signatureHeaders(keys, event.id, Math.floor(started / 1000), body, claimed.auth1Signature)
      }
      return yield* sender.post({ url: claimed.url, headers, body, timeoutMs: options.timeoutMs })
    }).pipe(
      // A defect in the sender is one failed attempt of this delivery, never the end of the loop.
      Effect.catchDefect((defect) => Effect.andThen(Effect.logError("webhook sender defect", defect),
        Effect.fail(new OutboundError({ reason: "internal error", refused: false }))))
    )
    const result = yield* Effect.result(send)
    const now = yield* nowMs
    const response = result._tag === "Success" ? result.success : undefined
    const attempt: AttemptRecord = {
      startedAt: new Date(started),
      statusCode: response?.status ?? null,
      latencyMs: Math.max(0, Math.round(now - started)),
      error: result._tag === "Failure" ? result.failure.reason : errorOf(result.success.status)
    }
    const unsendable = result._tag === "Failure" && result.failure._tag === "Unsendable"
    const outcome = outcomeOf(claimed, response, unsendable, now, options, yield* Random.next)
    if (outcome._tag !== "Succeeded") {
      yield* Effect.logWarning(`webhook ${claimed.id} attempt ${claimed.attempts} failed (${attempt.error}): ${outcome._tag}`)
    }
    const store = yield* WebhookStore
    const audit = yield* Audit
    yield* (yield* Transaction).run(Effect.gen(function* () {
      const finished = yield* store.finish(claimed, attempt, outcome, new Date(now), options.disableAfterMs)
      if (finished.disabled !== undefined) {
        yield* Effect.logWarning(`webhook endpoint ${finished.disabled.endpointId} disabled: ${finished.disabled.reason}`)
        yield* audit.record({
          tenantId: claimed.tenantId, mode: claimed.mode, type: "webhook.disabled", subject: finished.disabled.endpointId,
          details: { reason: finished.disabled.reason, host: hostOf(finished.disabled.url) }
        })
      }
    }))
    return outcome
  })

const outcomeLabels = { Succeeded: "succeeded", Retry: "retry", Failed: "failed" } as const

/**
 * Signs and POSTs one claimed delivery, then records the attempt. Only a database failure escapes.
 * Counted by outcome (metrics), in a span of its own naming the delivery and its event (tracing).
 */
export const deliver = (claimed: Claimed, options: WebhookWorkerOptions = defaults) =>
  Effect.gen(function* () {
    const outcome: Outcome = yield* deliverOnce(claimed, options)
    const metrics = yield* Metrics
    metrics.webhookDelivery(outcomeLabels[outcome._tag])
    yield* Effect.annotateCurrentSpan("sesame.delivery.outcome", outcomeLabels[outcome._tag])
    return outcome
  }).pipe(Effect.withSpan("WebhookWorker.deliver", {
    kind: "producer",
    attributes: {
      "sesame.webhook_delivery_id": claimed.id,
      "sesame.tenant_id": claimed.tenantId,
      "sesame.event_id": claimed.event?.id ?? "",
      "sesame.event_type": claimed.event?.type ?? "",
      "sesame.delivery.attempt": claimed.attempts
    }
  }))

/** One pass: fans out new events, claims due deliveries and sends them concurrently. Returns how many it claimed. */
export const runOnce = (options: WebhookWorkerOptions = defaults) =>
  Effect.gen(function* () {
    const store = yield* WebhookStore
    for (let i = 0; i < 10 && (yield* store.fanOut(new Date(yield* nowMs), options.fanOutBatch)) === options.fanOutBatch; i++);
    const limit = Math.min(options.batchSize, options.concurrency)
    const claimed = yield* store.claim(new Date(yield* nowMs), options.leaseMs, limit)
    yield* Effect.forEach(claimed, (delivery) =>
      whileRenewing(deliver(delivery, options), {
        leaseMs: options.leaseMs,
        maxMs: options.timeoutMs + options.leaseMs,
        renew: (until) => store.renew(delivery, until)
      }).pipe(
        // Shutdown mid-request (past its deadline): hand the delivery back at once rather than leaving
        // it leased. (It may have arrived already: delivery is at least once; webhook-id dedupes.)
        Effect.onInterrupt(() => Effect.flatMap(nowMs, (now) => store.release(delivery, new Date(now))).pipe(Effect.ignore)),
        // A result that could not be recorded keeps its lease; the delivery is retried when it ends.
        Effect.catchCause((cause) => Effect.logError(`webhook delivery ${delivery.id} not recorded`, cause))
      ), { concurrency: limit, discard: true })
    return claimed.length
  })

/** The loop of this process, forked for the life of the layer. */
export const layerWith = (options: Partial<WebhookWorkerOptions> = {}) =>
  Layer.effectDiscard(Effect.gen(function* () {
    const all = { ...defaults, ...options }
    const context = yield* Effect.context<WebhookStore | WebhookSender | Secrets | Transaction | Audit>()
    const lifecycle = yield* Lifecycle
    // At shutdown the loop claims nothing more and ends once its pass is delivered (forkDraining).
    const loop = Effect.gen(function* () {
      while (!lifecycle.isDraining()) {
        const claimed = yield* runOnce(all).pipe(
          Effect.catchCause((cause) => Effect.as(Effect.logError("webhook worker pass failed", cause), 0))
        )
        // A full batch suggests more are due: go again at once.
        if (claimed < Math.min(all.batchSize, all.concurrency)) yield* Effect.race(Effect.sleep(all.pollMs), lifecycle.draining)
      }
    })
    yield* forkDraining(Effect.provideContext(loop, context))
  }))

export const layer = Layer.unwrap(Effect.map(AppConfig, (config) => {
  const timeoutMs = config.webhookTimeoutMs ?? defaults.timeoutMs
  return layerWith({
    pollMs: config.workerPollMs,
    retryBaseMs: config.webhookRetryBaseMs ?? defaults.retryBaseMs,
    timeoutMs
  })
}))
