import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, References, Tracer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { AuthinkLive } from "../compat/authink/Handlers.ts"
import { Auth1Live } from "../compat/auth1/Handlers.ts"
import { CompatFallbackRoutes } from "../compat/Products.ts"
import { MagicAuthHandlers } from "../compat/magicauth/Handlers.ts"
import { TransmitLive } from "../compat/transmit/Handlers.ts"
import { ScalekitLive } from "../compat/scalekit/Handlers.ts"
import { AccessTokenAuthLive } from "./AccessTokenAuth.ts"
import { AdminHandlers } from "./AdminHandlers.ts"
import { ExchangeHandlers } from "./ExchangeHandlers.ts"
import { Handlers } from "./Handlers.ts"
import { LinkPageRoutes } from "./LinkPage.ts"
import { EdgeLive } from "./Edge.ts"
import * as KeyResolverLive from "./KeyResolver.ts"
import { ApiKeyAuthLive, RequestGuardLive } from "./Middleware.ts"
import { SessionHandlers } from "./SessionHandlers.ts"
import { TemplateHandlers } from "./TemplateHandlers.ts"
import * as TrustedProxies from "./TrustedProxies.ts"
import { HttpMetricsLive, RouteTemplateLive } from "../observability/HttpMetrics.ts"

/**
 * The HttpApi routes (+ `/openapi.json`), the hosted link page, and the edge middleware in front of
 * every route (body limits, content types, security headers); needs the domain services.
 */
export const ApiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(Handlers),
  Layer.provide(ExchangeHandlers),
  Layer.provide(TemplateHandlers),
  Layer.provide(SessionHandlers),
  Layer.provide(AdminHandlers),
  Layer.provide(MagicAuthHandlers),
  Layer.provide(AuthinkLive),
  Layer.provide(Auth1Live),
  Layer.provide(TransmitLive),
  Layer.provide(ScalekitLive),
  Layer.provide(AccessTokenAuthLive),
  Layer.provide(ApiKeyAuthLive),
  Layer.provide(RequestGuardLive),
  Layer.provide(KeyResolverLive.layer),
  // the hosted link page (#7): plain HTML routes beside the HttpApi
  Layer.merge(LinkPageRoutes),
  // unknown routes under a compatibility prefix answer in that product's words (compat/Products.ts)
  Layer.merge(CompatFallbackRoutes),
  Layer.merge(EdgeLive),
  Layer.provide(TrustedProxies.layer),
  // request metrics (METRICS_PORT; nothing when off), labelled by the matched route; built before the
  // rest, so its global middleware is the outermost and also counts what the edge refuses
  Layer.provide(RouteTemplateLive),
  Layer.provideMerge(HttpMetricsLive)
)

// With no tracer configured (observability/Observability.ts installs OpenTelemetry only for
// OTEL_EXPORTER_OTLP_ENDPOINT) spans would go nowhere, so none are made (a server span, the SQL
// spans and the Effect.fn spans of every request cost allocations and context copies).
const tracingOffUnlessConfigured = Layer.unwrap(Effect.map(Effect.tracer, (tracer) =>
  tracer === Tracer.nativeTracer ? Layer.succeed(References.TracerEnabled)(false) : Layer.empty))

/** Serves on `host:port`; the HttpServer stays in the output so the caller can log the bound address. */
export const serveOn = (port: number, host: string) =>
  HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host })),
    Layer.provide(tracingOffUnlessConfigured)
  )
