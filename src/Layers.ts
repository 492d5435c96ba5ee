import { Effect, Layer, Option } from "effect"
import * as Database from "./platform/Database.ts"
import * as AppConfigLive from "./platform/Config.ts"
import { AppConfig } from "./platform/Config.ts"
import * as SecretsLive from "./platform/Secrets.ts"
import * as TransactionLive from "./platform/Transaction.ts"
import * as CodeStorePg from "./passwordless/CodeStorePg.ts"
import * as PasswordlessLive from "./passwordless/Passwordless.ts"
import * as TenantsLive from "./tenants/Tenants.ts"
import * as ApiKeysLive from "./keys/ApiKeys.ts"
import * as RateLimiterPg from "./limits/RateLimiterPg.ts"
import * as Mailer from "./delivery/Mailer.ts"
import * as OutboxPg from "./delivery/OutboxPg.ts"
import * as Worker from "./delivery/Worker.ts"
import * as TokenSignerLive from "./sessions/TokenSignerLive.ts"
import * as SessionsLive from "./sessions/SessionsLive.ts"

/** PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite in SESAME_DATA_DIR. */
export const DatabaseLive = Layer.unwrap(Effect.map(AppConfig, (config) =>
  Option.match(config.databaseUrl, {
    onSome: (url) => Database.layerPostgres(url),
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
export const servicesOn = <E, R>(database: Layer.Layer<Database.Database, E, R>) => {
  const base = Layer.mergeAll(database, SecretsLive.layer)
  const stores = Layer.mergeAll(
    CodeStorePg.layer, TenantsLive.layer, ApiKeysLive.layer, TransactionLive.layer, OutboxPg.layer, TokenSignerLive.layer,
    RateLimiterPg.layer
  )
  const withMigrations = Layer.provideMerge(stores, Layer.provideMerge(MigrationsLive, base))
  const delivery = Layer.provideMerge(Worker.layer, MailerLive)
  const sessions = SessionsLive.layer
  return PasswordlessLive.layer.pipe(
    Layer.provideMerge(sessions),
    Layer.provideMerge(delivery),
    Layer.provideMerge(withMigrations)
  )
}
