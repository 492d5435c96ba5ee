import { Effect, Layer, Option } from "effect"
import * as Database from "./platform/Database.ts"
import { AppConfig } from "./platform/Config.ts"
import * as HealthLive from "./platform/Health.ts"
import * as SecretsLive from "./platform/Secrets.ts"
import * as TransactionLive from "./platform/Transaction.ts"
import * as CodeStorePg from "./passwordless/CodeStorePg.ts"
import * as IssueStorePg from "./passwordless/IssueStorePg.ts"
import { type IssueStore, layerComposed as IssueStoreComposed } from "./passwordless/IssueStore.ts"
import type { Secrets } from "./platform/Secrets.ts"
import { layerComposed as VerifyStoreComposed } from "./passwordless/VerifyStore.ts"
import * as VerifyStorePg from "./passwordless/VerifyStorePg.ts"
import * as TestOutboxLive from "./passwordless/TestOutbox.ts"
import * as PasswordlessLive from "./passwordless/Passwordless.ts"
import * as ExchangeLive from "./passwordless/Exchange.ts"
import * as ExchangeCodesPg from "./passwordless/ExchangeCodesPg.ts"
import * as TemplatePreviewLive from "./templates/Preview.ts"
import * as TenantsLive from "./tenants/Tenants.ts"
import * as ApiKeysLive from "./keys/ApiKeys.ts"
import * as RateLimiterPg from "./limits/RateLimiterPg.ts"
import type { RateLimiter } from "./limits/RateLimiter.ts"
import type { PgClient } from "@effect/sql-pg"
import * as AuditPg from "./audit/AuditPg.ts"
import * as AccountsLive from "./passwordless/Accounts.ts"
import * as KeyAdminLive from "./keys/KeyAdmin.ts"
import * as ClientCredentialsLive from "./keys/ClientCredentials.ts"
import * as TenantAdminLive from "./tenants/TenantAdmin.ts"
import * as Mailer from "./delivery/Mailer.ts"
import * as OutboxPg from "./delivery/OutboxPg.ts"
import * as Worker from "./delivery/Worker.ts"
import * as SmsProviderLive from "./sms/SmsProviderLive.ts"
import * as RiskScorerPg from "./risk/RiskScorerPg.ts"
import * as TokenSignerLive from "./sessions/TokenSignerLive.ts"
import * as SessionsLive from "./sessions/SessionsLive.ts"
import { SessionServicesLive } from "./sessions/SessionLayers.ts"
import * as EventsPg from "./webhooks/EventsPg.ts"
import * as Resolver from "./webhooks/Resolver.ts"
import * as WebhookSender from "./webhooks/Sender.ts"
import * as WebhookStorePg from "./webhooks/WebhookStorePg.ts"
import * as WebhooksLive from "./webhooks/Webhooks.ts"
import * as WebhookWorker from "./webhooks/Worker.ts"
import * as RetentionLive from "./retention/Retention.ts"
import * as RetentionStorePg from "./retention/RetentionStorePg.ts"
import * as OperatorsLive from "./console/Operators.ts"

/** PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite in SESAME_DATA_DIR. */
export const DatabaseLive = Layer.unwrap(Effect.map(AppConfig, (config) =>
  Option.match(config.databaseUrl, {
    onSome: (url) => Database.layerPostgres(url, { maxConnections: config.databasePoolSize ?? 10 }),
    onNone: () => Database.layerEmbedded(config.dataDir)
  })))

export const MigrationsLive = Layer.effectDiscard(Database.migrate)

export const MailerLive = Layer.unwrap(Effect.map(AppConfig, (config) =>
  Option.match(config.smtpUrl, {
    onSome: (url) => Mailer.layerSmtp(url, config.smtpFrom),
    onNone: () =>
      Layer.effectDiscard(Effect.logWarning("SMTP_URL is not set: emails go to the dev outbox (logged, not sent).")).pipe(
        Layer.provideMerge(Mailer.layerDevOutbox)
      )
  })))

/**
 * Every domain service over one database layer. The database layer is given from outside so tests
 * can run the same wiring on PGlite or a fresh PostgreSQL database.
 */
export const servicesOn = <E, R>(
  database: Layer.Layer<Database.Database, E, R>,
  /** Only for the limiter benchmark (bench/limits-server.ts): the same server with another RateLimiter. */
  rateLimiter: Layer.Layer<RateLimiter, never, PgClient.PgClient> = RateLimiterPg.layer
) => {
  const base = Layer.mergeAll(database, SecretsLive.layer)
  const stores = Layer.mergeAll(
    CodeStorePg.layer, TenantsLive.layer, ApiKeysLive.layer, TransactionLive.layer, OutboxPg.layer, TokenSignerLive.layer,
    rateLimiter, AuditPg.layer, AccountsLive.layer, ExchangeCodesPg.layer, RiskScorerPg.layer, HealthLive.layer,
    RetentionStorePg.layer, OperatorsLive.layer
  )
  // The server writes a send in one statement (IssueStorePg); with another limiter (the limiter
  // benchmark) the send goes through that limiter and a transaction instead.
  const issue: Layer.Layer<IssueStore, never, Layer.Success<typeof stores> | PgClient.PgClient | Secrets> =
    rateLimiter === RateLimiterPg.layer ? IssueStorePg.layer : IssueStoreComposed
  const withMigrations = Layer.provideMerge(
    Layer.provideMerge(issue, stores),
    Layer.provideMerge(MigrationsLive, base)
  )
  const delivery = Layer.provideMerge(Worker.layer, Layer.mergeAll(MailerLive, SmsProviderLive.layer))
  const sessions = Layer.mergeAll(SessionsLive.layer, SessionServicesLive)
  // Webhooks (#6): the event outbox, endpoints and deliveries, the SSRF-guarded sender, this process's worker.
  const webhooks = Layer.mergeAll(WebhooksLive.layer, WebhookWorker.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(WebhookStorePg.layer, EventsPg.layer, WebhookSender.layer)),
    Layer.provide(Resolver.layer)
  )
  const verify = rateLimiter === RateLimiterPg.layer ? VerifyStorePg.layer : VerifyStoreComposed
  return Layer.mergeAll(PasswordlessLive.layer.pipe(Layer.provide(verify)), KeyAdminLive.layer, TenantAdminLive.layer, ExchangeLive.layer, TemplatePreviewLive.layer,
    TestOutboxLive.layer, ClientCredentialsLive.layer, RetentionLive.layer).pipe(
    Layer.provideMerge(sessions),
    Layer.provideMerge(delivery),
    Layer.provideMerge(webhooks),
    Layer.provideMerge(withMigrations)
  )
}
