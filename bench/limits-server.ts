/**
 * The Sesame server for bench/limits.ts: exactly `sesame serve` on DATABASE_URL, except that with
 * BENCH_LIMITS=off the RateLimiter admits everything without touching the database, so the two runs
 * differ only by the limiter's cost.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { serveOn } from "../src/http/Server.ts"
import { DatabaseLive, servicesOn } from "../src/Layers.ts"
import { decide, RateLimiter } from "../src/limits/RateLimiter.ts"
import * as RateLimiterPg from "../src/limits/RateLimiterPg.ts"
import * as AppConfigLive from "../src/platform/Config.ts"
import { AppConfig } from "../src/platform/Config.ts"

const admitAll = Layer.succeed(RateLimiter)({
  take: (_tenant, checks, nowMs) =>
    Effect.succeed(decide(checks, checks.map((c) => ({ allowed: true, remaining: c.limit - 1, resetAtMs: nowMs + c.periodMs, retryAfterMs: 0 })), nowMs))
})
const limiter = process.env["BENCH_LIMITS"] === "off" ? admitAll : RateLimiterPg.layer

Effect.gen(function* () {
  const config = yield* AppConfig
  yield* Effect.log(`bench server on ${config.port}, limits ${process.env["BENCH_LIMITS"] ?? "on"}`)
  return yield* Layer.launch(serveOn(config.port, config.host).pipe(Layer.provideMerge(servicesOn(DatabaseLive, limiter))))
}).pipe(Effect.provide(AppConfigLive.layer), NodeRuntime.runMain)
