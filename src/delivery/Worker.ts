import { Clock, Context, Effect, Layer, Option, Queue, Random } from "effect"
import { DeliveryFailed, type ServiceUnavailable } from "../api/Errors.ts"
import type { MessageId, TenantId } from "../domain/Ids.ts"
import { Metrics } from "../observability/Metrics.ts"
import { AppConfig } from "../platform/Config.ts"
import { maskText } from "../platform/Mask.ts"
import { whileRenewing } from "../platform/Lease.ts"
import { forkDraining, Lifecycle } from "../platform/Lifecycle.ts"
import { SmsProvider } from "../sms/SmsProvider.ts"
import { Mailer, MailerError } from "./Mailer.ts"
import { type Claimed, Outbox } from "./Outbox.ts"

export interface WorkerOptions {
  readonly pollMs: number
  readonly retryBaseMs: number
  /** At most this many claimed per pass (and never more than `concurrency`: a claimed row is sent at once). */
  readonly batchSize: number
  readonly concurrency: number
  readonly maxAttempts: number
  /** A send that takes longer is abandoned and retried; the lease is renewed until then. */
  readonly sendTimeoutMs: number
  /**
   * A claim holds this long unrenewed, and is renewed every third of it while its send runs: a
   * crashed process's messages are claimed again within it.
   */
  readonly leaseMs: number
}

export const defaults: WorkerOptions = {
  pollMs: 1000,
  retryBaseMs: 2000,
  batchSize: 10,
  concurrency: 10,
  maxAttempts: 8,
  sendTimeoutMs: 30_000,
  leaseMs: 10_000
}

const HOUR_MS = 3_600_000

/** Exponential backoff with full jitter: uniform in [0, min(1 h, base · 2^(attempt-1))). */
export const retryDelayMs = (attempt: number, baseMs: number, random01: number): number =>
  Math.floor(random01 * Math.min(HOUR_MS, baseMs * 2 ** Math.max(0, attempt - 1)))

export type Outcome =
  | { readonly _tag: "Sent"; readonly provider: string }
  | { readonly _tag: "Retry" | "Failed" | "Skipped"; readonly reason: string }

export class DeliveryWorker extends Context.Service<DeliveryWorker, {
  /** Wakes this process's loop now (call after the enqueuing transaction commits). Never blocks. */
  readonly wake: Effect.Effect<void>
  /**
   * `deliver: "sync"`: sends the message inline. On failure the row stays queued for the worker's
   * retries and the caller gets `DeliveryFailed`.
   */
  readonly deliverNow: (
    tenantId: TenantId,
    messageId: MessageId
  ) => Effect.Effect<{ readonly provider: string }, DeliveryFailed | ServiceUnavailable>
}>()("sesame/DeliveryWorker") {}

const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** An SMS goes out through the SmsProvider (the message's `text` is the SMS body); its errors become MailerError's shape. */
const sendSms = (message: Extract<Claimed, { _tag: "Deliver" }>) =>
  Effect.flatMap(Effect.serviceOption(SmsProvider), (provider) =>
    Option.match(provider, {
      onNone: () => Effect.fail(new MailerError({ reason: "no SMS provider is configured", permanent: true })),
      onSome: (sms) =>
        sms.send({
          to: message.recipient, body: message.email.text, hint: message.email.hint,
          messageId: message.id, authRequestId: message.authRequestId
        }).pipe(
          Effect.mapError((e) => new MailerError({ reason: e.reason, permanent: e.permanent }))
        )
    }))

const send = (message: Extract<Claimed, { _tag: "Deliver" }>, options: WorkerOptions) =>
  Effect.flatMap(Mailer, (mailer) =>
    (message.channel === "sms" ? sendSms(message) : mailer.send({ to: message.recipient, ...message.email })).pipe(
        Effect.timeoutOrElse({
          duration: options.sendTimeoutMs,
          orElse: () => Effect.fail(new MailerError({ reason: "timed out", permanent: false }))
        }),
        // A defect in a provider is one failed attempt of this message, never the end of the loop.
        Effect.catchDefect((defect) =>
          Effect.andThen(
            Effect.logError("mailer defect", defect),
            Effect.fail(new MailerError({ reason: "internal error", permanent: false }))
          ))
      ))

const deliverOnce = (claimed: Claimed, options: WorkerOptions) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    if (claimed._tag === "Skipped") return { _tag: "Skipped", reason: "expired" } satisfies Outcome
    const key = { tenantId: claimed.tenantId, id: claimed.id }
    const result = yield* Effect.result(claimed._tag === "Unreadable"
      ? Effect.fail(new MailerError({ reason: "payload cannot be decrypted", permanent: true }))
      : send(claimed, options))
    const now = yield* nowDate
    if (result._tag === "Success") {
      yield* outbox.markSent(key, result.success.provider, now)
      return { _tag: "Sent", provider: result.success.provider } satisfies Outcome
    }
    const { reason, permanent } = result.failure
    const last = permanent || claimed.attempts >= options.maxAttempts
    yield* Effect.logWarning(`delivery attempt ${claimed.attempts} of ${claimed.id} failed${last ? " for good" : ""}: ${maskText(reason)}`)
    if (last) {
      yield* outbox.markFailed(key, claimed.attempts, reason, now)
      return { _tag: "Failed", reason } satisfies Outcome
    }
    const delay = retryDelayMs(claimed.attempts, options.retryBaseMs, yield* Random.next)
    yield* outbox.markRetry(key, claimed.attempts, new Date(now.getTime() + delay), reason)
    return { _tag: "Retry", reason } satisfies Outcome
  })

const outcomeLabels = { Sent: "sent", Retry: "retry", Failed: "failed", Skipped: "skipped" } as const

/**
 * Delivers one claimed message and records the result. Only a database failure escapes. Counted by
 * channel, provider and outcome (metrics), and a span of its own (tracing) naming the message: the
 * worker runs apart from the request that queued it, so the span shares the request's trace only
 * for `deliver: "sync"`.
 */
export const deliver = (claimed: Claimed, options: WorkerOptions = defaults) =>
  Effect.gen(function* () {
    const outcome: Outcome = yield* deliverOnce(claimed, options)
    const metrics = yield* Metrics
    const channel = claimed._tag === "Deliver" ? claimed.channel : "unknown"
    metrics.delivery(channel, outcome._tag === "Sent" ? outcome.provider : "none", outcomeLabels[outcome._tag])
    yield* Effect.annotateCurrentSpan({ "sesame.delivery.outcome": outcomeLabels[outcome._tag], "sesame.channel": channel })
    return outcome
  }).pipe(Effect.withSpan("DeliveryWorker.deliver", {
    kind: "producer",
    attributes: {
      "sesame.message_id": claimed.id,
      "sesame.tenant_id": claimed.tenantId,
      ...(claimed._tag === "Deliver" ? { "sesame.auth_request_id": claimed.authRequestId ?? "", "sesame.delivery.attempt": claimed.attempts } : {})
    }
  }))

/**
 * `deliver` under the claim's lease: renewed while the send and its recording run (up to the send
 * timeout), and handed back at once if interrupted (shutdown past its deadline) rather than left
 * leased. (An interrupted message may have gone out already: delivery is at least once.)
 */
export const deliverHeld = (claimed: Claimed, options: WorkerOptions = defaults) =>
  Effect.flatMap(Outbox, (outbox) => {
    if (claimed._tag === "Skipped") return deliver(claimed, options)
    const key = { tenantId: claimed.tenantId, id: claimed.id }
    return whileRenewing(deliver(claimed, options), {
      leaseMs: options.leaseMs,
      maxMs: options.sendTimeoutMs + options.leaseMs,
      renew: (until) => outbox.renew(key, claimed.attempts, until)
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(nowDate, (now) => outbox.markRetry(key, claimed.attempts, now, "interrupted by shutdown")).pipe(Effect.ignore))
    )
  })

/** One pass: claims the due messages it can send at once and delivers them concurrently. Returns how many it claimed. */
export const runOnce = (options: WorkerOptions = defaults) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const limit = Math.min(options.batchSize, options.concurrency)
    const claimed = yield* outbox.claim({ now: yield* nowDate, leaseMs: options.leaseMs, limit })
    yield* Effect.forEach(claimed, (message) =>
      deliverHeld(message, options).pipe(
        // A row whose result could not be recorded keeps its lease and is claimed again when it ends.
        Effect.catchCause((cause) => Effect.logError(`delivery of ${message.id} not recorded`, cause))
      ), { concurrency: limit, discard: true })
    return claimed.length
  })

const WAKE_SETTLE_MS = 5
const SYNC_WAIT_MS = 15_000
const SYNC_POLL_MS = 100

export const make = (options: WorkerOptions) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const context = yield* Effect.context<Outbox | Mailer>()
    // SMS (#4): optional, so a deployment or test without an SmsProvider fails SMS messages permanently.
    const smsProvider = yield* Effect.serviceOption(SmsProvider)
    const signal = yield* Queue.dropping<void>(1)
    const lifecycle = yield* Lifecycle
    const limit = Math.min(options.batchSize, options.concurrency)

    // At shutdown the loop claims nothing more and ends once its pass is delivered (forkDraining).
    const loop = Effect.gen(function* () {
      while (!lifecycle.isDraining()) {
        const claimed = yield* runOnce(options).pipe(
          Effect.catchCause((cause) => Effect.as(Effect.logError("delivery worker pass failed", cause), 0))
        )
        // A full batch suggests more are due: go again at once instead of waiting.
        if (claimed < limit) {
          yield* Effect.raceAll([Queue.take(signal), Effect.sleep(options.pollMs), lifecycle.draining])
          // Let the request that woke us finish answering before claiming: its response time then does not
          // depend on whether a message was queued (enumeration safety), and a burst is claimed in one go.
          yield* Effect.sleep(WAKE_SETTLE_MS)
        }
      }
    })
    yield* forkDraining(loop)

    const failed = new DeliveryFailed({})
    const deliverNow = Effect.fn("DeliveryWorker.deliverNow")(function* (tenantId: TenantId, messageId: MessageId) {
      const key = { tenantId, id: messageId }
      const deadline = (yield* Clock.currentTimeMillis) + SYNC_WAIT_MS
      while (true) {
        const now = yield* nowDate
        const [claimed] = yield* outbox.claim({ now, leaseMs: options.leaseMs, limit: 1, only: key })
        if (claimed !== undefined) {
          const outcome = yield* deliverHeld(claimed, options)
          return outcome._tag === "Sent" ? { provider: outcome.provider } : yield* Effect.fail(failed)
        }
        // Not claimable: already delivered (test mode), or another worker holds it right now.
        const status = yield* outbox.statusOf(key)
        if (status?.status === "sent") return { provider: status.provider ?? "unknown" }
        const pending = status?.status === "sending" || (status?.status === "queued" && status.attempts === 0)
        if (!pending || now.getTime() >= deadline) return yield* Effect.fail(failed)
        yield* Effect.sleep(SYNC_POLL_MS)
      }
    }, Effect.provideContext(Option.match(smsProvider, {
      onNone: () => context,
      onSome: (sms) => Context.add(context, SmsProvider, sms)
    })))

    return DeliveryWorker.of({ wake: Effect.asVoid(Queue.offer(signal, undefined)), deliverNow })
  })

/** The worker with explicit options (tests); `layer` reads them from AppConfig. */
export const layerWith = (options: Partial<WorkerOptions> = {}) =>
  Layer.effect(DeliveryWorker)(make({ ...defaults, ...options }))

export const layer = Layer.unwrap(Effect.map(AppConfig, (config) =>
  layerWith({ pollMs: config.workerPollMs, retryBaseMs: config.deliveryRetryBaseMs })))
