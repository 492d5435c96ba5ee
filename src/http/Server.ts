import { createServer, type Server, type ServerResponse } from "node:http"
import { Server as NetServer } from "node:net"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, References } from "effect"
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
import { Lifecycle } from "../platform/Lifecycle.ts"

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
  Layer.provide(TrustedProxies.layer)
)

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

/** Serves on `host:port`; the HttpServer stays in the output so the caller can log the bound address. */
export const serveOn = (port: number, host: string) =>
  Layer.unwrap(Effect.sync(() => {
    const server = createServer()
    // Requests in flight, for the drain: a counter and one shared listener, nothing allocated per request.
    let inFlight = 0
    const done = () => void inFlight--
    server.on("request", (_, response: ServerResponse) => {
      inFlight++
      response.on("close", done)
    })
    return Layer.effectDiscard(Effect.addFinalizer(() => drain(server, () => inFlight))).pipe(
      Layer.provideMerge(HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true })),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port, host })),
      // No tracer is configured, so spans would go nowhere: none are made (a server span, the SQL
      // spans and the Effect.fn spans of every request cost allocations and context copies).
      Layer.provide(Layer.succeed(References.TracerEnabled)(false))
    )
  }))
