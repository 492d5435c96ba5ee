import { Effect } from "effect"
import { RateLimited, type ServiceUnavailable } from "../api/Errors.ts"
import type { Audit } from "../audit/Audit.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import { Metrics } from "../observability/Metrics.ts"
import { noteLimit } from "./Limits.ts"
import type { Decision } from "./RateLimiter.ts"

/**
 * What every limited request does with the limiter's verdict, wherever it was counted (the limiter,
 * a send's or a verify's own statement): note the tightest limit for X-RateLimit-*, and when refused,
 * a sampled `rate_limited` audit row (one per `sample` key and interval) and RATE_LIMITED naming the limit.
 */
export const enforce = (
  audit: Audit["Service"],
  at: { readonly tenantId: TenantId; readonly mode: Mode },
  sample: string,
  decision: Decision
): Effect.Effect<void, RateLimited | ServiceUnavailable> =>
  Effect.gen(function* () {
    yield* noteLimit(decision.tightest)
    if (decision.allowed) return
    const name = decision.tightest.name
    const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
    const metrics = yield* Metrics
    metrics.rateLimited(name)
    yield* audit.sampled(sample, { tenantId: at.tenantId, mode: at.mode, type: "rate_limited", subject: name, details: { limit: name, retryAfter } })
    return yield* new RateLimited({ limit: name, retryAfter })
  })
