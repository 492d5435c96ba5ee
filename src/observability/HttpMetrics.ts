import { Clock, Context, Effect, type Fiber } from "effect"
import { HttpEffect, HttpRouter, type HttpServerRequest, type HttpServerResponse } from "effect/http"
import { Metrics } from "./Metrics.ts"
import type { Prometheus } from "./Prometheus.ts"

/** One request being measured: when it arrived, and the route template it matched (if any). */
class Observation {
  route: HttpRouter.Route<unknown, unknown> | undefined = undefined
  readonly prometheus: Prometheus
  readonly clock: Clock.Clock
  readonly started: bigint
  constructor(prometheus: Prometheus, clock: Clock.Clock) {
    this.prometheus = prometheus
    this.clock = clock
    this.started = clock.currentTimeNanosUnsafe()
  }
  readonly record = (_request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
    const route = this.route
    const seconds = Number(this.clock.currentTimeNanosUnsafe() - this.started) / 1e9
    this.prometheus.observeRequest(route, route?.method ?? "*", route?.path ?? "", response.status, seconds)
    return Effect.succeed(response)
  }
}

// Requests run one per fiber: the route middleware finds its request's observation by the fiber.
const observations = new WeakMap<Fiber.Fiber<unknown, unknown>, Observation>()

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
        const observation = new Observation(prometheus, fiber.getRef(Clock.Clock))
        observations.set(fiber, observation)
        HttpEffect.appendPreResponseHandlerUnsafe(fiber.context, observation.record)
        return httpEffect
      })
  }),
  { global: true }
)

/**
 * The route template, read where the router has matched it (a global middleware runs before the
 * match). Never the raw path: ids and tokens stay out of the labels.
 */
export const RouteTemplateLive = HttpRouter.middleware(
  Effect.gen(function* () {
    if ((yield* Metrics).prometheus === undefined) return (httpEffect) => httpEffect
    return (httpEffect) =>
      Effect.withFiber((fiber) => {
        const observation = observations.get(fiber)
        if (observation !== undefined) observation.route = Context.getUnsafe(fiber.context, HttpRouter.RouteContext).route
        return httpEffect
      })
  })
).layer
