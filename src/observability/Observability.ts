import { Effect, Layer, Option, References } from "effect"
import { AppConfig } from "../platform/Config.ts"
import { Metrics } from "./Metrics.ts"

/** METRICS_PORT: Prometheus (prom-client, loaded only then) as the process's `Metrics`; otherwise the no-op. */
export const metricsLayer = Layer.unwrap(Effect.gen(function* () {
  const config = yield* AppConfig
  if (Option.isNone(config.metrics ?? Option.none())) return Layer.empty
  const Prometheus = yield* Effect.promise(() => import("./Prometheus.ts"))
  return Layer.succeed(Metrics)(Prometheus.make())
}))

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT: the OpenTelemetry tracer (the SDK is loaded only then). Without it no
 * span is made at all (TracerEnabled off): requests, SQL and the workers skip span bookkeeping.
 */
export const tracingLayer = Layer.unwrap(Effect.gen(function* () {
  const otel = Option.getOrUndefined((yield* AppConfig).otel ?? Option.none())
  if (otel === undefined) return Layer.succeed(References.TracerEnabled)(false)
  const TracingSdk = yield* Effect.promise(() => import("./TracingSdk.ts"))
  return TracingSdk.layerOtlp(otel.endpoint, otel.serviceName)
}))

/** Metrics and tracing for everything above it (the HTTP server, the domain services, the workers). */
export const layer = Layer.merge(metricsLayer, tracingLayer)
