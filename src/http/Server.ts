import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Server as NetServer } from "node:net"
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
import { ConsoleRoutes } from "../console/Routes.ts"
import { EdgeLive } from "./Edge.ts"
import { RequestLogLive, RouteTemplateLive } from "./RequestLog.ts"
import * as KeyResolverLive from "./KeyResolver.ts"
import { ApiKeyAuthLive, RequestGuardLive } from "./Middleware.ts"
import { SessionHandlers } from "./SessionHandlers.ts"
import { TemplateHandlers } from "./TemplateHandlers.ts"
import * as TrustedProxies from "./TrustedProxies.ts"
import { HttpMetricsLive } from "../observability/HttpMetrics.ts"
import { Lifecycle } from "../platform/Lifecycle.ts"

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
  // the operator console at /console (#14): server-rendered pages over the same services
  Layer.merge(ConsoleRoutes),
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


const SWEEP_MS = 50

/**
 * The drain, first of the server's finalizers: the listener closes (new connections are refused),
 * requests in flight finish, and so do requests that arrive meanwhile on open keep-alive connections
 * (`/readyz` then says 503), answered `Connection: close`. Once none is in flight the idle connections
 * are closed; at the deadline every connection is, which interrupts the requests still running.
 */
const drain = (server: Server, inFlight: () => number) =>
  Effect.gen(function* () {
    if (!server.listening) return
    const lifecycle = yield* Lifecycle
    const closing = (_: unknown, response: ServerResponse) => {
      if (!response.headersSent) response.setHeader("connection", "close")
    }
    yield* Effect.callback<void>((resume) => {
      // before the app's listener, which may answer synchronously
      server.prependListener("request", closing)
      const sweep = setInterval(() => {
        if (inFlight() === 0) server.closeIdleConnections()
      }, SWEEP_MS)
      // net's close, not http's: http's also closes the idle keep-alive connections at once, where a
      // load balancer's health check would otherwise see the 503
      NetServer.prototype.close.call(server, () => {
        clearInterval(sweep)
        resume(Effect.void)
      })
      return Effect.sync(() => clearInterval(sweep))
    }).pipe(
      Effect.timeoutOrElse({
        duration: yield* lifecycle.remainingMs,
        orElse: () => Effect.sync(() => server.closeAllConnections())
      })
    )
  })

/**
 * Serves on `host:port`; the HttpServer stays in the output so the caller can log the bound address.
 *
 * The port listens (NodeHttpServer.layer) before the app's handler is attached (HttpRouter.serve builds
 * the routes first, and the console's setup reads the database), and Node answers nothing to a request
 * no handler takes. A request that arrives in between is therefore held and handed to the handler once
 * it is attached, never left without an answer: a worker of `WORKERS=n` gets connections from its
 * siblings' port the moment it listens, and a load balancer may probe a single process that early too.
 */
export const serveOn = (port: number, host: string) =>
  Layer.unwrap(Effect.sync(() => {
    const server = createServer()
    // Requests in flight, for the drain: a counter and one shared listener, nothing allocated per request.
    let inFlight = 0
    const done = () => void inFlight--
    let held: Array<readonly [IncomingMessage, ServerResponse]> | undefined = []
    const count = (request: IncomingMessage, response: ServerResponse) => {
      inFlight++
      response.on("close", done)
      held?.push([request, response])
    }
    server.on("request", count)
    const release = Effect.sync(() => {
      const early = held ?? []
      held = undefined
      const handlers = server.listeners("request").filter((listener) => listener !== count)
      for (const [request, response] of early) for (const handler of handlers) handler.call(server, request, response)
    })
    return Layer.effectDiscard(Effect.andThen(Effect.addFinalizer(() => drain(server, () => inFlight)), release)).pipe(
      Layer.provideMerge(HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true })),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port, host })),
      Layer.provide(tracingOffUnlessConfigured)
    )
  }))
