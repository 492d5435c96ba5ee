import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { Api } from "../../src/api/Api.ts"
import { ApiRoutes } from "../../src/http/Server.ts"
import { servicesOn } from "../../src/Layers.ts"
import * as MetricsServer from "../../src/observability/MetricsServer.ts"
import * as Observability from "../../src/observability/Observability.ts"
import { AppConfig, CONSOLE_DEFAULTS, type ConsoleConfig, type RetentionConfig, type SmsConfig } from "../../src/platform/Config.ts"
import type { Database } from "../../src/platform/Database.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"

export interface TestConfig {
  /** The hosted link page's origin (#7); default http://sesame.test. */
  readonly publicUrl?: string
  readonly smtpUrl?: string
  readonly workerPollMs?: number
  readonly deliveryRetryBaseMs?: number
  /** Webhooks (#6): let webhook URLs reach 127.0.0.1 (the test receiver); scale the retry schedule; request timeout. */
  readonly webhooksAllowPrivate?: boolean
  readonly webhookRetryBaseMs?: number
  readonly webhookTimeoutMs?: number
  /** SMS providers (#4): e.g. Twilio pointed at a local stand-in server. */
  readonly sms?: SmsConfig
  /** TRUST_PROXY: the proxies whose X-Forwarded-* headers count. */
  readonly trustProxy?: ReadonlyArray<string>
  /** Retention (#13): unset → no background sweep. */
  readonly retention?: RetentionConfig
  /** LOG_FORMAT (default pretty). */
  readonly logFormat?: "pretty" | "json"
  /** METRICS_PORT (0: any free port; MetricsServer.MetricsAddress tells which) and METRICS_HOST (default 127.0.0.1). */
  readonly metrics?: { readonly port: number; readonly host?: string }
  /** The operator console (#14): e.g. `{ signinMode: "test" }` puts sign-in codes in the console tenant's test outbox. */
  readonly console?: Partial<ConsoleConfig>
}

export const testConfig = (options: TestConfig = {}) =>
  Layer.succeed(AppConfig)({
    port: 0,
    host: "127.0.0.1",
    publicUrl: options.publicUrl ?? "http://sesame.test",
    databaseUrl: Option.none(),
    dataDir: "./.sesame-test",
    secret: Option.some(Redacted.make("a-test-secret-that-is-long-enough")),
    smtpUrl: options.smtpUrl === undefined ? Option.none() : Option.some(Redacted.make(options.smtpUrl)),
    smtpFrom: "Sesame Test <no-reply@sesame.test>",
    production: false,
    workerPollMs: options.workerPollMs ?? 200,
    deliveryRetryBaseMs: options.deliveryRetryBaseMs ?? 100,
    logFormat: options.logFormat ?? "pretty",
    ...(options.webhooksAllowPrivate === undefined ? {} : { webhooksAllowPrivate: options.webhooksAllowPrivate }),
    ...(options.webhookRetryBaseMs === undefined ? {} : { webhookRetryBaseMs: options.webhookRetryBaseMs }),
    ...(options.webhookTimeoutMs === undefined ? {} : { webhookTimeoutMs: options.webhookTimeoutMs }),
    ...(options.sms === undefined ? {} : { sms: options.sms }),
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    ...(options.retention === undefined ? {} : { retention: options.retention }),
    ...(options.console === undefined ? {} : { console: { ...CONSOLE_DEFAULTS, ...options.console } }),
    ...(options.metrics === undefined ? {} : { metrics: Option.some({ port: options.metrics.port, host: options.metrics.host ?? "127.0.0.1" }) })
  })

/**
 * The real server (all services, HTTP on a random port) on the given database, wired as `sesame
 * serve` wires it: metrics when `options.metrics` is set, and `tracing` (a tracer layer, e.g.
 * TracingSdk.layerWith with an in-memory exporter) in place of the OTEL_* configured one.
 */
export const serverLayer = <E, T = never>(database: Layer.Layer<Database, E>, options: TestConfig = {}, tracing?: Layer.Layer<T>) =>
  HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(MetricsServer.layer),
    Layer.provideMerge(servicesOn(database)),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(Layer.merge(Observability.metricsLayer, tracing ?? Observability.tracingLayer)),
    Layer.provide(testConfig(options))
  )

export const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "UnixPathAddress" ? "" : `http://127.0.0.1:${server.address.port}`)

/** A fresh tenant with a live and a test key. */
export const tenantFixture = (name = "Acme", allowRedirects: ReadonlyArray<string> = ["https://app.example.com/cb", "http://localhost/*"]) =>
  createTenantWithKeys(name, allowRedirects)

/** The derived typed client, authenticated with `key` (the test server's HttpClient already targets it). */
export const clientFor = (key: string) =>
  HttpApiClient.make(Api, { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(key)) })

/** The API error code of a failure from the derived client (`_tag` for transport errors). */
export const errorCode = (error: { readonly _tag: string }): string =>
  "code" in error && typeof error.code === "string" ? error.code : error._tag
