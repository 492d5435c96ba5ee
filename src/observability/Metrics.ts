import { Cause, Context, type Exit } from "effect"
import type { Prometheus } from "./Prometheus.ts"

/**
 * What the domain reports to metrics. Every method is a synchronous counter bump, and every label is
 * from a bounded set (channels, provider names, error codes, limit names): no tenant, no identifier.
 */
export interface MetricsRecorder {
  /** Whether anything is recorded: callers skip even the wrapping when not. */
  readonly enabled: boolean
  /** A `send` answered by the API: `accepted` or the error code. */
  readonly sendRequest: (channel: string, outcome: string) => void
  /** One outbox delivery attempt: `sent`, `retry`, `failed` or `skipped`. */
  readonly delivery: (channel: string, provider: string, outcome: string) => void
  /** A verify or confirm: `success` or the error code. */
  readonly verify: (outcome: string) => void
  /** One webhook delivery attempt: `succeeded`, `retry` or `failed`. */
  readonly webhookDelivery: (outcome: string) => void
  /** A request refused with RATE_LIMITED, by the limit's name. */
  readonly rateLimited: (limit: string) => void
  /** The registry and the HTTP/queue instruments when METRICS_PORT is set; undefined when metrics are off. */
  readonly prometheus: Prometheus | undefined
}

const ignore = () => {}

/** Metrics off: calls cost a function call and nothing else. */
export const noop: MetricsRecorder = {
  enabled: false,
  sendRequest: ignore,
  delivery: ignore,
  verify: ignore,
  webhookDelivery: ignore,
  rateLimited: ignore,
  prometheus: undefined
}

/** The process's metrics; no-op unless the observability layer (Observability.ts) installed Prometheus. */
export const Metrics = Context.Reference<MetricsRecorder>("sesame/Metrics", { defaultValue: () => noop })

/** `success`, the declared error's `code`, `INTERNAL` for a defect, `interrupted`. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (exit._tag === "Success") return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some") {
    const failure = error.value
    if (typeof failure === "object" && failure !== null && "code" in failure && typeof failure.code === "string") return failure.code
  }
  return "INTERNAL"
}
