import { Clock, Effect } from "effect"
import { HttpEffect, HttpRouter, type HttpServerRequest, type HttpServerResponse } from "effect/http"
import { requestEntry } from "../platform/Logging.ts"
import { Metrics } from "./Metrics.ts"
import type { Prometheus } from "./Prometheus.ts"

/** One request being measured: when it arrived. */
class Observation {
  readonly prometheus: Prometheus
  readonly clock: Clock.Clock
  readonly started: bigint
  constructor(prometheus: Prometheus, clock: Clock.Clock) {
    this.prometheus = prometheus
    this.clock = clock
    this.started = clock.monotonicTimeNanosUnsafe()
  }
  readonly record = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
    // The route the router matched, noted on the request's entry by RequestLog's RouteTemplateLive
    // (never the raw path: ids and tokens stay out of the labels); none for an unmatched request.
    const route = requestEntry(request)?.matched
    const seconds = Number(this.clock.monotonicTimeNanosUnsafe() - this.started) / 1e9
    this.prometheus.observeRequest(route, route?.method ?? "*", route?.path ?? "", response.status, seconds)
    return Effect.succeed(response)
  }
}

/**
 * Every request (HttpApi, the hosted page, unknown paths, edge refusals): counted by route template
 * and status and timed, from before routing to the final response (errors included, as the
 * pre-response handler sees the answer that is sent). With metrics off this installs nothing.
 */
export const HttpMetricsLive = HttpRouter.middleware(
  Effect.gen(function* () {
    const prometheus = (yield* Metrics).prometheus
    if (prometheus === undefined) return (httpEffect) => httpEffect
    return (httpEffect) =>
      Effect.withFiber((fiber) => {
        HttpEffect.appendPreResponseHandlerUnsafe(fiber.context, new Observation(prometheus, fiber.getRef(Clock.Clock)).record)
        return httpEffect
      })
  }),
  { global: true }
)
