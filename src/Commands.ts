/** The commands of `sesame` (entry: src/cli.ts). */
import { flushCompileCache } from "node:module"
import { parseArgs } from "node:util"
import { Cause, Clock, Console, Effect, Layer, Option, Schema } from "effect"
import { HttpServer } from "effect/http"
import { isSqlError } from "effect/sql/SqlError"
import { loggableSqlError } from "./platform/SqlErrorLog.ts"
import { AllScopes, ApiKeyId, Mode, Scope, TenantId } from "./domain/Ids.ts"
import { ApiKeys } from "./keys/ApiKeys.ts"
import { AppConfig } from "./platform/Config.ts"
import * as AppConfigLive from "./platform/Config.ts"
import * as Database from "./platform/Database.ts"
import { loggerLayer } from "./platform/Logging.ts"
import * as Lifecycle from "./platform/Lifecycle.ts"
import { DatabaseLive, servicesOn } from "./Layers.ts"
import { serveOn } from "./http/Server.ts"
import * as Observability from "./observability/Observability.ts"
import * as MetricsServer from "./observability/MetricsServer.ts"
import { isClusterWorker, superviseWorkers } from "./http/Cluster.ts"
import { bootstrapDefaultTenant, createTenantWithKeys } from "./tenants/Bootstrap.ts"
import * as TenantsLive from "./tenants/Tenants.ts"
import * as ApiKeysLive from "./keys/ApiKeys.ts"
import * as SecretsLive from "./platform/Secrets.ts"
import { ACTIVATION_DELAY_MS } from "./sessions/SigningKeys.ts"
import { rotate } from "./sessions/TokenSignerLive.ts"
import * as RetentionLive from "./retention/Retention.ts"
import * as RetentionStorePg from "./retention/RetentionStorePg.ts"
import * as OperatorsLive from "./console/Operators.ts"
import { ensureConsoleTenant } from "./console/Setup.ts"

const usage = `Usage: sesame <command>
  serve                                   run the server (runs pending migrations first)
  migrate                                 run pending migrations and exit
  tenant create --name NAME [--allow-redirect URL_PREFIX]... [--json]
  key create --tenant ID --mode live|test [--scopes a,b] [--json]
  key revoke ID
  keys rotate [--mode live|test] [--json] new JWT signing keys, for both modes unless --mode names one
                                          (old ones stay in their JWKS until their tokens expire)
  retention sweep [--json]                one retention pass now (README "Retention"); prints what it removed
  operator add --email EMAIL --role owner|admin|viewer [--json]
                                          who may sign in to /console (again: changes the role)
  operator list [--json]
  operator remove --email EMAIL           removes the operator and ends their console sessions`

class UsageError extends Error {
  override readonly name = "UsageError"
}

const args = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    name: { type: "string" },
    "allow-redirect": { type: "string", multiple: true },
    json: { type: "boolean" },
    tenant: { type: "string" },
    mode: { type: "string" },
    scopes: { type: "string" },
    email: { type: "string" },
    role: { type: "string" },
    help: { type: "boolean", short: "h" }
  }
})
const [command, sub, arg] = args.positionals
const opts = args.values

const AdminLayer = Layer.mergeAll(TenantsLive.layer, ApiKeysLive.layer, OperatorsLive.layer).pipe(
  Layer.provideMerge(Layer.effectDiscard(Database.migrate)),
  Layer.provideMerge(DatabaseLive)
)

/** SIGTERM/SIGINT drain the server (platform/Lifecycle.ts). */
const lifecycle = Lifecycle.make()

const serve = Effect.gen(function* () {
  const config = yield* AppConfig
  const workers = config.workers ?? 1
  const shutdownTimeoutMs = config.shutdownTimeoutMs ?? AppConfigLive.SHUTDOWN_TIMEOUT_MS
  if (workers > 1 && !isClusterWorker()) {
    // The primary migrates once, then only supervises; the workers serve.
    // …and settles SESAME_SECRET (generated into the data directory when unset) before any worker reads it
    yield* Effect.provide(Effect.log(`migrations are up to date; starting ${workers} worker processes`), Layer.merge(AdminLayer, SecretsLive.layer))
    // on a signal the primary waits for its workers' drains (each SHUTDOWN_TIMEOUT_MS, then closing)
    yield* lifecycle.serving(shutdownTimeoutMs + Lifecycle.OVERRUN_GRACE_MS)
    return yield* Effect.scoped(superviseWorkers(workers))
  }
  const started = yield* Clock.currentTimeMillis
  const app = serveOn(config.port, config.host).pipe(
    Layer.provideMerge(Layer.effectDiscard(Option.isNone(config.databaseUrl) ? bootstrapDefaultTenant : Effect.void)),
    Layer.provideMerge(MetricsServer.layer),
    Layer.provideMerge(servicesOn(DatabaseLive)),
    // metrics (METRICS_PORT) and tracing (OTEL_EXPORTER_OTLP_ENDPOINT) under everything
    Layer.provide(Observability.layer)
  )
  return yield* Layer.launch(Layer.provideMerge(
    Layer.effectDiscard(Effect.gen(function* () {
      const address = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
      yield* Effect.log(`Sesame listening on ${address} (${Option.isSome(config.databaseUrl) ? "PostgreSQL" : `embedded database in ${config.dataDir}`}), ready in ${(yield* Clock.currentTimeMillis) - started} ms`)
      // Every module is loaded by now: store their compiled code for the next start (the cache is
      // otherwise written at exit, which a server stopped with SIGKILL never reaches).
      yield* Effect.sync(flushCompileCache)
      yield* lifecycle.serving(shutdownTimeoutMs)
      // the first finalizer to run: the listener and the workers drain after it
      yield* Effect.addFinalizer(() => Effect.log(`draining… (up to ${shutdownTimeoutMs} ms)`))
    })),
    app
  )).pipe(Effect.onInterrupt(() => Effect.flatMap(lifecycle.elapsedMs, (ms) => Effect.log(`stopped in ${ms} ms`))))
})

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, value: unknown, what: string) =>
  Schema.decodeUnknownEffect(schema)(value).pipe(Effect.mapError(() => new UsageError(`invalid ${what}: ${String(value)}`)))

const program: Effect.Effect<void, unknown, AppConfig> = Effect.gen(function* () {
  if (opts.help === true || command === undefined) return yield* Console.log(usage)
  switch (`${command} ${sub ?? ""}`.trim()) {
    case "serve":
      return yield* serve
    case "migrate":
      return yield* Effect.provide(Effect.log("migrations are up to date"), AdminLayer)
    case "tenant create": {
      if (opts.name === undefined || opts.name.trim() === "") return yield* Effect.fail(new UsageError("--name is required"))
      const created = yield* Effect.provide(createTenantWithKeys(opts.name, opts["allow-redirect"] ?? []), AdminLayer)
      return yield* Console.log(opts.json === true
        ? JSON.stringify({ tenant: { id: created.tenant.id, name: created.tenant.name }, keys: created.keys })
        : `tenant ${created.tenant.id} (${created.tenant.name})\n  live key: ${created.keys.live}\n  test key: ${created.keys.test}\nThe keys are shown only once.`)
    }
    case "key create": {
      const tenantId = yield* decode(TenantId, opts.tenant, "--tenant")
      const mode = yield* decode(Mode, opts.mode, "--mode")
      const scopes = opts.scopes === undefined ? AllScopes : yield* decode(Schema.Array(Scope), opts.scopes.split(","), "--scopes")
      const created = yield* Effect.provide(
        Effect.flatMap(ApiKeys, (keys) => keys.create({ tenantId, mode, scopes, name: `${mode} key` })),
        AdminLayer
      )
      return yield* Console.log(opts.json === true
        ? JSON.stringify({ key: { id: created.key.id, prefix: created.key.prefix, mode, scopes }, secret: created.secret })
        : `key ${created.key.id}: ${created.secret}\nThe secret is shown only once.`)
    }
    case "key revoke": {
      const id = yield* decode(ApiKeyId, arg, "key id")
      yield* Effect.provide(Effect.flatMap(ApiKeys, (keys) => keys.revoke(id)), AdminLayer)
      return yield* Console.log(`revoked ${id}`)
    }
    case "keys rotate": {
      const modes = opts.mode === undefined ? undefined : [yield* decode(Mode, opts.mode, "--mode")]
      const now = new Date(yield* Clock.currentTimeMillis)
      const rotated = yield* Effect.provide(rotate(now, modes), Layer.merge(AdminLayer, SecretsLive.layer))
      const signsFrom = new Date(now.getTime() + ACTIVATION_DELAY_MS).toISOString()
      const jwksOf = (mode: Mode) => mode === "live" ? "/.well-known/jwks.json" : "/test/.well-known/jwks.json"
      return yield* Console.log(opts.json === true
        ? JSON.stringify({ rotated, signsFrom })
        : rotated.map(({ mode, kid }) =>
          `${mode} signing key ${kid} is in ${jwksOf(mode)} now and signs new ${mode} tokens from ${signsFrom} at the latest;`
        ).join("\n") + "\nthe previous keys stay in their JWKS until every token they signed has expired.")
    }
    case "retention sweep": {
      const settings = (yield* AppConfig).retention ?? (yield* RetentionLive.defaults)
      const counts = yield* Effect.provide(
        Effect.flatMap(RetentionLive.Retention, (retention) => retention.sweep),
        Layer.effect(RetentionLive.Retention)(RetentionLive.make(settings)).pipe(
          Layer.provide(RetentionStorePg.layer), Layer.provide(AdminLayer))
      )
      return yield* Console.log(opts.json === true
        ? JSON.stringify(counts)
        : Object.entries(counts).map(([kind, n]) => `${kind}: ${n}`).join("\n"))
    }
    case "operator add": {
      const role = yield* decode(OperatorsLive.Role, opts.role, "--role (owner, admin or viewer)")
      if (opts.email === undefined) return yield* Effect.fail(new UsageError("--email is required"))
      const email = opts.email
      const publicUrl = (yield* AppConfig).publicUrl
      const operator = yield* Effect.provide(Effect.gen(function* () {
        yield* ensureConsoleTenant(publicUrl)
        return yield* Effect.flatMap(OperatorsLive.Operators, (operators) => operators.add(email, role))
      }), AdminLayer).pipe(Effect.catchTag("OperatorInvalid", (e) => Effect.fail(new UsageError(e.message))))
      return yield* Console.log(opts.json === true
        ? JSON.stringify({ operator: { id: operator.id, email: operator.email, role: operator.role } })
        : `operator ${operator.email} (${operator.role}) may sign in at ${publicUrl}/console`)
    }
    case "operator list": {
      const all = yield* Effect.provide(Effect.flatMap(OperatorsLive.Operators, (operators) => operators.list), AdminLayer)
      return yield* Console.log(opts.json === true
        ? JSON.stringify({ operators: all.map((o) => ({ id: o.id, email: o.email, role: o.role, createdAt: o.createdAt.toISOString() })) })
        : all.length === 0 ? "no operators yet: sesame operator add --email … --role owner" : all.map((o) => `${o.email}\t${o.role}`).join("\n"))
    }
    case "operator remove": {
      if (opts.email === undefined) return yield* Effect.fail(new UsageError("--email is required"))
      const email = opts.email
      const removed = yield* Effect.provide(Effect.flatMap(OperatorsLive.Operators, (operators) => operators.remove(email)), AdminLayer).pipe(
        Effect.catchTag("OperatorInvalid", (e) => Effect.fail(new UsageError(e.message))))
      if (!removed) return yield* Effect.fail(new UsageError(`no operator ${email}`))
      return yield* Console.log(`removed ${email}; their console sessions have ended`)
    }
    default:
      return yield* Effect.fail(new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(" ")}\n${usage}`))
  }
})

const logger = Layer.unwrap(Effect.map(AppConfig, (config) =>
  loggerLayer({ format: config.logFormat, level: config.logLevel ?? "Info", toStdout: command === "serve" })))

program.pipe(
  Effect.provide(logger),
  Effect.provide(AppConfigLive.layer),
  // a failure or a defect (a setting refused at start dies in the config layer): one line saying
  // what, never silence
  Effect.tapCause((cause) => {
    const error = Cause.squash(cause)
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    // a database error: what of it may be logged (PostgreSQL's messages can quote submitted values)
    if (isSqlError(error)) return Console.error(`database error: ${JSON.stringify(loggableSqlError(error))}`)
    return Console.error(error instanceof Error ? error.message : String(error))
  }),
  Effect.provideService(Lifecycle.Lifecycle, lifecycle.lifecycle),
  (effect) => Lifecycle.runMain(lifecycle)(effect, { disableErrorReporting: true })
)
