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
import { DocsRoutes } from "./Docs.ts"
import { EdgeLive } from "./Edge.ts"
import { RequestLogLive, RouteTemplateLive } from "./RequestLog.ts"
import * as KeyResolverLive from "./KeyResolver.ts"
import { ApiKeyAuthLive, RequestGuardLive } from "./Middleware.ts"
import { SessionHandlers } from "./SessionHandlers.ts"
import { TemplateHandlers } from "./TemplateHandlers.ts"
import * as TrustedProxies from "./TrustedProxies.ts"
import { HttpMetricsLive } from "../observability/HttpMetrics.ts"

/**
 * The HttpApi routes (+ `/openapi.json`), the hosted link page, and the edge middleware in front of
 * every route (body limits, content types, security headers); needs the domain services.
 */
export const ApiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(Layer.mergeAll(Handlers, ExchangeHandlers, TemplateHandlers, SessionHandlers, AdminHandlers)),
  // the compatibility adapters (#12)
  Layer.provide(Layer.mergeAll(MagicAuthHandlers, AuthinkLive, Auth1Live, TransmitLive, ScalekitLive)),
  Layer.provide(AccessTokenAuthLive),
  Layer.provide(ApiKeyAuthLive),
  Layer.provide(RequestGuardLive),
  Layer.provide(KeyResolverLive.layer),
  // the hosted link page (#7): plain HTML routes beside the HttpApi
  Layer.merge(LinkPageRoutes),
  // the API reference at /docs (Scalar), from the same contract
  Layer.merge(DocsRoutes),
  // unknown routes under a compatibility prefix answer in that product's words (compat/Products.ts)
  Layer.merge(CompatFallbackRoutes),
  // request id + request line (RequestLog.ts): the matched route noted by every route (for the line
  // and the metrics); its global middleware built before the edge's, so it is outside it and sees the
  // edge's refusals too
  Layer.provide(RouteTemplateLive),
  Layer.merge(EdgeLive.pipe(Layer.provide(RequestLogLive))),
  Layer.provide(TrustedProxies.layer),
  // request metrics (METRICS_PORT; nothing when off), labelled by the matched route; built before the
  // rest, so its global middleware is the outermost and also counts what the edge refuses
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
