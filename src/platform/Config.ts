import { Config, Context, Effect, Layer, type LogLevel, Option, Redacted, Schema } from "effect"

/** LOG_LEVEL's values (lower case, as operators write them) and Effect's levels. */
const logLevelNames = ["all", "trace", "debug", "info", "warn", "error", "fatal", "none"] as const
const logLevels: Record<typeof logLevelNames[number], LogLevel.LogLevel> = {
  all: "All", trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error", fatal: "Fatal", none: "None"
}

export interface SmsConfig {
  /** TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN + (TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID) */
  readonly twilio: Option.Option<{
    readonly accountSid: string
    readonly authToken: Redacted.Redacted<string>
    readonly from: string | undefined
    readonly messagingServiceSid: string | undefined
    /** TWILIO_BASE_URL, default https://api.twilio.com (tests point it at a local server) */
    readonly baseUrl: string
  }>
  /** SMS_WEBHOOK_URL + SMS_WEBHOOK_SECRET: the generic signed webhook provider, tried after Twilio. */
  readonly webhook?: Option.Option<{
    readonly url: string
    readonly secret: Redacted.Redacted<string>
  }>
  /** SMS_TIMEOUT_MS: how long one provider request may take before the next provider is tried. */
  readonly timeoutMs: number
}

/** Retention (#13): how long each kind of row is kept (milliseconds), and the sweep's pace. */
export interface RetentionConfig {
  /** RETENTION_ENABLED: the background sweep in every server process (`sesame retention sweep` runs anyway). */
  readonly enabled: boolean
  /** RETENTION_INTERVAL_MS: mean pause between sweeps; each pause is drawn uniformly from 0.5–1.5× it. */
  readonly intervalMs: number
  /** RETENTION_BATCH_SIZE: rows per statement. */
  readonly batchSize: number
  /** Auth requests, after their expiry. */
  readonly authRequestsMs: number
  /** Exchange codes (used or not), after their expiry. */
  readonly exchangeCodesMs: number
  /** Payloads of closed messages that still hold one, after the message was created. */
  readonly payloadsMs: number
  /** Closed live-mode messages, after they were created. */
  readonly messagesMs: number
  /** Test-mode messages (the test outbox), after they were created. */
  readonly testMessagesMs: number
  readonly eventsMs: number
  /** Finished webhook deliveries, after they finished. */
  readonly webhookDeliveriesMs: number
  readonly auditMs: number
}

/** The operator console (#14, src/console/). */
export interface ConsoleConfig {
  /** CONSOLE_ENABLED: serve `/console` (default true). */
  readonly enabled: boolean
  /**
   * CONSOLE_SIGNIN_MODE: the mode of the console's own sign-in messages. `live` (default) emails the
   * operator; `test` puts the code in the console tenant's test outbox (development and tests only;
   * refused when NODE_ENV=production).
   */
  readonly signinMode: "live" | "test"
  /** CONSOLE_IDLE_MINUTES: a session unused this long ends (default 30). */
  readonly idleMs: number
  /** CONSOLE_SESSION_HOURS: a session ends this long after sign-in, used or not (default 12). */
  readonly absoluteMs: number
}

/** Sesame's process configuration: the one place that reads the environment (DESIGN.md "Configuration"). */
export class AppConfig extends Context.Service<AppConfig, {
  readonly port: number
  /** HOST: the address to listen on; loopback unless the operator opens it (`0.0.0.0` / `::` = every interface). */
  readonly host: string
  readonly publicUrl: string
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  /** DATABASE_POOL_SIZE: PostgreSQL connections this process may open (default 10; PGlite always 1). */
  readonly databasePoolSize?: number
  readonly dataDir: string
  readonly secret: Option.Option<Redacted.Redacted<string>>
  readonly smtpUrl: Option.Option<Redacted.Redacted<string>>
  readonly smtpFrom: string
  readonly production: boolean
  readonly workerPollMs: number
  readonly deliveryRetryBaseMs: number
  readonly logFormat: "pretty" | "json"
  /** LOG_LEVEL: the least severe level written (default Info). */
  readonly logLevel?: LogLevel.LogLevel
  /** `WORKERS`: server processes sharing the port (node:cluster); 1 runs in this process. */
  readonly workers?: number
  /** TRUST_PROXY: CIDRs of the proxies in front of Sesame; only their X-Forwarded-For is read. */
  readonly trustProxy?: ReadonlyArray<string>
  /** WEBHOOKS_ALLOW_PRIVATE: webhook URLs may reach private/loopback addresses (dev and tests; ignored in production). */
  readonly webhooksAllowPrivate?: boolean
  /** WEBHOOK_RETRY_BASE_MS: milliseconds per second of the webhook retry schedule (1000 = the documented ~24 h). */
  readonly webhookRetryBaseMs?: number
  /** WEBHOOK_TIMEOUT_MS: how long one webhook request may take (default 10 s). */
  readonly webhookTimeoutMs?: number
  /** SMS providers (#4), tried in order; none → the dev outbox. */
  readonly sms?: SmsConfig
  /** Retention (#13). Absent (a hand-built test config) → no background sweep. */
  readonly retention?: RetentionConfig
  /** METRICS_PORT + METRICS_HOST: the Prometheus listener (its own port, loopback by default); unset → no metrics. */
  readonly metrics?: Option.Option<{ readonly port: number; readonly host: string }>
  /** OTEL_EXPORTER_OTLP_ENDPOINT + OTEL_SERVICE_NAME: OpenTelemetry traces over OTLP/HTTP; unset → no spans at all. */
  readonly otel?: Option.Option<{ readonly endpoint: string; readonly serviceName: string }>
  /** SHUTDOWN_TIMEOUT_MS: how long a SIGTERM/SIGINT lets in-flight requests and sends finish (platform/Lifecycle.ts). */
  readonly shutdownTimeoutMs?: number
  /** The operator console (#14). Absent (a hand-built test config) → its defaults, live sign-in. */
  readonly console?: ConsoleConfig
}>()("sesame/AppConfig") {}

/** SHUTDOWN_TIMEOUT_MS's default: in-flight SMTP/SMS sends have their own 10 s timeouts. */
export const SHUTDOWN_TIMEOUT_MS = 10_000

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const period = (name: string, unitMs: number, fallback: number) =>
  Config.schema(NonNegativeInt, name).pipe(Config.withDefault(fallback), Config.map((n) => n * unitMs))

export const retentionConfig: Config.Config<RetentionConfig> = Config.all({
  enabled: Config.Boolean("RETENTION_ENABLED").pipe(Config.withDefault(true)),
  intervalMs: Config.schema(PositiveInt, "RETENTION_INTERVAL_MS").pipe(Config.withDefault(600_000)),
  batchSize: Config.schema(PositiveInt, "RETENTION_BATCH_SIZE").pipe(Config.withDefault(1000)),
  authRequestsMs: period("RETENTION_AUTH_REQUESTS_HOURS", HOUR_MS, 168),
  exchangeCodesMs: period("RETENTION_EXCHANGE_CODES_HOURS", HOUR_MS, 24),
  payloadsMs: period("RETENTION_PAYLOADS_HOURS", HOUR_MS, 0),
  messagesMs: period("RETENTION_MESSAGES_DAYS", DAY_MS, 30),
  testMessagesMs: period("RETENTION_TEST_MESSAGES_DAYS", DAY_MS, 7),
  eventsMs: period("RETENTION_EVENTS_DAYS", DAY_MS, 30),
  webhookDeliveriesMs: period("RETENTION_WEBHOOK_DELIVERIES_DAYS", DAY_MS, 30),
  auditMs: period("RETENTION_AUDIT_DAYS", DAY_MS, 365)
})

export const consoleConfig: Config.Config<ConsoleConfig> = Config.all({
  enabled: Config.Boolean("CONSOLE_ENABLED").pipe(Config.withDefault(true)),
  signinMode: Config.Literals(["live", "test"], "CONSOLE_SIGNIN_MODE").pipe(Config.withDefault("live" as const)),
  idleMs: Config.schema(PositiveInt, "CONSOLE_IDLE_MINUTES").pipe(Config.withDefault(30), Config.map((n) => n * 60_000)),
  absoluteMs: Config.schema(PositiveInt, "CONSOLE_SESSION_HOURS").pipe(Config.withDefault(12), Config.map((n) => n * HOUR_MS))
})

/** The console's settings when none were given (tests' hand-built configs). */
export const CONSOLE_DEFAULTS: ConsoleConfig = { enabled: true, signinMode: "live", idleMs: 30 * 60_000, absoluteMs: 12 * HOUR_MS }

export const config = Config.all({
  port: Config.Port("PORT").pipe(Config.withDefault(8787)),
  host: Config.NonEmptyString("HOST").pipe(Config.withDefault("127.0.0.1")),
  publicUrl: Config.option(Config.String("PUBLIC_URL")),
  databaseUrl: Config.option(Config.Redacted("DATABASE_URL")),
  databasePoolSize: Config.Int("DATABASE_POOL_SIZE").pipe(Config.withDefault(10)),
  dataDir: Config.String("SESAME_DATA_DIR").pipe(Config.withDefault("./.sesame")),
  secret: Config.option(Config.Redacted("SESAME_SECRET")),
  smtpUrl: Config.option(Config.Redacted("SMTP_URL")),
  smtpFrom: Config.String("SMTP_FROM").pipe(Config.withDefault("Sesame <no-reply@sesame.localhost>")),
  nodeEnv: Config.String("NODE_ENV").pipe(Config.withDefault("development")),
  workerPollMs: Config.Int("DELIVERY_POLL_MS").pipe(Config.withDefault(1000)),
  deliveryRetryBaseMs: Config.Int("DELIVERY_RETRY_BASE_MS").pipe(Config.withDefault(2000)),
  logFormat: Config.Literals(["pretty", "json"], "LOG_FORMAT").pipe(Config.withDefault("pretty" as const)),
  logLevel: Config.Literals(logLevelNames, "LOG_LEVEL").pipe(Config.withDefault("info" as const)),
  workers: Config.Int("WORKERS").pipe(Config.withDefault(1)),
  trustProxy: Config.String("TRUST_PROXY").pipe(Config.withDefault("")),
  webhooksAllowPrivate: Config.Boolean("WEBHOOKS_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  webhookRetryBaseMs: Config.Int("WEBHOOK_RETRY_BASE_MS").pipe(Config.withDefault(1000)),
  webhookTimeoutMs: Config.Int("WEBHOOK_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
  twilioAccountSid: Config.option(Config.String("TWILIO_ACCOUNT_SID")),
  twilioAuthToken: Config.option(Config.Redacted("TWILIO_AUTH_TOKEN")),
  twilioFrom: Config.option(Config.String("TWILIO_FROM")),
  twilioMessagingServiceSid: Config.option(Config.String("TWILIO_MESSAGING_SERVICE_SID")),
  twilioBaseUrl: Config.String("TWILIO_BASE_URL").pipe(Config.withDefault("https://api.twilio.com")),
  smsWebhookUrl: Config.option(Config.String("SMS_WEBHOOK_URL")),
  smsWebhookSecret: Config.option(Config.Redacted("SMS_WEBHOOK_SECRET")),
  smsTimeoutMs: Config.Int("SMS_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
  retention: retentionConfig,
  metricsPort: Config.option(Config.Port("METRICS_PORT")),
  metricsHost: Config.NonEmptyString("METRICS_HOST").pipe(Config.withDefault("127.0.0.1")),
  otelEndpoint: Config.option(Config.NonEmptyString("OTEL_EXPORTER_OTLP_ENDPOINT")),
  otelServiceName: Config.NonEmptyString("OTEL_SERVICE_NAME").pipe(Config.withDefault("sesame")),
  shutdownTimeoutMs: Config.Int("SHUTDOWN_TIMEOUT_MS").pipe(Config.withDefault(SHUTDOWN_TIMEOUT_MS)),
  console: consoleConfig
})

export const layer = Layer.effect(AppConfig)(
  Effect.gen(function* () {
    const c = yield* config
    if (Option.isSome(c.smsWebhookUrl) && Option.isNone(c.smsWebhookSecret)) {
      // An unsigned SMS gateway would send codes for anyone who can reach it: refuse to start.
      return yield* Effect.die(new Error("SMS_WEBHOOK_URL is set without SMS_WEBHOOK_SECRET"))
    }
    if (Option.isSome(c.smsWebhookUrl) && !/^https?:$/u.test(URL.parse(c.smsWebhookUrl.value)?.protocol ?? "")) {
      return yield* Effect.die(new Error("SMS_WEBHOOK_URL must be an http(s) URL"))
    }
    if (Option.isSome(c.metricsPort) && c.metricsPort.value === c.port) return yield* Effect.die(new Error("METRICS_PORT must differ from PORT"))
    // Each worker would answer scrapes for itself on the shared port: counters that jump between processes.
    if (Option.isSome(c.metricsPort) && c.workers > 1) {
      return yield* Effect.die(new Error("METRICS_PORT needs WORKERS=1: run one process per instance and scrape each"))
    }
    if (Option.isSome(c.otelEndpoint) && !/^https?:$/u.test(URL.parse(c.otelEndpoint.value.trim())?.protocol ?? "")) {
      return yield* Effect.die(new Error("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL"))
    }
    if (c.workers < 1 || c.workers > 64) return yield* Effect.die(new Error("WORKERS must be 1..64"))
    if (c.databasePoolSize < 1 || c.databasePoolSize > 1000) return yield* Effect.die(new Error("DATABASE_POOL_SIZE must be 1..1000"))
    if (c.shutdownTimeoutMs < 0) return yield* Effect.die(new Error("SHUTDOWN_TIMEOUT_MS must be 0 or more"))
    if (c.console.signinMode === "test" && c.nodeEnv === "production") {
      // Codes in a test outbox that any test key of the console tenant could read: never in production.
      return yield* Effect.die(new Error("CONSOLE_SIGNIN_MODE=test is refused when NODE_ENV=production"))
    }
    if (c.console.idleMs > c.console.absoluteMs) return yield* Effect.die(new Error("CONSOLE_IDLE_MINUTES must not exceed CONSOLE_SESSION_HOURS"))
    if (c.workers > 1 && Option.isNone(c.databaseUrl)) {
      // PGlite is one process's database: several processes need a shared PostgreSQL.
      return yield* Effect.die(new Error("WORKERS > 1 needs DATABASE_URL (the embedded database serves one process)"))
    }
    return {
      port: c.port,
      workers: c.workers,
      host: c.host.trim(),
      publicUrl: Option.getOrElse(c.publicUrl, () => `http://localhost:${c.port}`).replace(/\/+$/, ""),
      databaseUrl: c.databaseUrl,
      databasePoolSize: c.databasePoolSize,
      dataDir: c.dataDir,
      secret: c.secret,
      smtpUrl: c.smtpUrl,
      smtpFrom: c.smtpFrom,
      production: c.nodeEnv === "production",
      workerPollMs: c.workerPollMs,
      deliveryRetryBaseMs: c.deliveryRetryBaseMs,
      logFormat: c.logFormat,
      logLevel: logLevels[c.logLevel],
      trustProxy: c.trustProxy.split(",").map((s) => s.trim()).filter((s) => s !== ""),
      webhooksAllowPrivate: c.webhooksAllowPrivate,
      webhookRetryBaseMs: c.webhookRetryBaseMs,
      webhookTimeoutMs: c.webhookTimeoutMs,
      shutdownTimeoutMs: c.shutdownTimeoutMs,
      sms: {
        twilio: Option.isSome(c.twilioAccountSid) && Option.isSome(c.twilioAuthToken)
          ? Option.some({
            accountSid: c.twilioAccountSid.value,
            authToken: c.twilioAuthToken.value,
            from: Option.getOrUndefined(c.twilioFrom),
            messagingServiceSid: Option.getOrUndefined(c.twilioMessagingServiceSid),
            baseUrl: c.twilioBaseUrl
          })
          : Option.none(),
        webhook: Option.isSome(c.smsWebhookUrl) && Option.isSome(c.smsWebhookSecret)
          ? Option.some({ url: c.smsWebhookUrl.value, secret: c.smsWebhookSecret.value })
          : Option.none(),
        timeoutMs: c.smsTimeoutMs
      },
      retention: c.retention,
      console: c.console,
      metrics: Option.map(c.metricsPort, (port) => ({ port, host: c.metricsHost.trim() })),
      otel: Option.map(c.otelEndpoint, (endpoint) => ({ endpoint: endpoint.trim(), serviceName: c.otelServiceName.trim() }))
    }
  })
)
