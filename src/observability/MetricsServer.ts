import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Effect, Layer, Option, References, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import type { SocketAddress } from "effect/net/NetAddress"
import { SqlSchema } from "effect/sql"
import { AppConfig } from "../platform/Config.ts"
import { Metrics } from "./Metrics.ts"
import type { Prometheus } from "./Prometheus.ts"

/** Where the metrics listener is bound (undefined when metrics are off): for the startup log and tests. */
export const MetricsAddress = Context.Reference<SocketAddress | undefined>("sesame/MetricsAddress", {
  defaultValue: () => undefined
})

/** A scrape waits this long for the database; past it the queue gauges keep their last values and `sesame_db_up` is 0. */
const SCRAPE_QUERY_TIMEOUT = "1 second"

const QueueRow = Schema.Struct({ queue: Schema.String, depth: Schema.Number, oldestMs: Schema.NullOr(Schema.Number) })
const ConnectionRow = Schema.Struct({ state: Schema.String, count: Schema.Number })

/**
 * The scrape's database reads. Both count only the rows of their partial indexes
 * (`messages_due`, `webhook_deliveries_due`: status IN the open states), so a healthy queue costs a
 * handful of index entries. Ages are measured against Effect's Clock, not the database's now().
 */
const makeRefresh = (sql: PgClient.PgClient, prometheus: Prometheus) => {
  const queues = SqlSchema.findAll({
    Request: Schema.Void,
    Result: QueueRow,
    execute: () => sql`
      SELECT 'outbox' AS queue, count(*)::int AS depth, (extract(epoch FROM min(created_at)) * 1000)::float8 AS oldest_ms
        FROM messages WHERE status IN ('queued', 'sending')
      UNION ALL
      SELECT 'webhooks', count(*)::int, (extract(epoch FROM min(created_at)) * 1000)::float8
        FROM webhook_deliveries WHERE status IN ('pending', 'sending')`
  })
  // @effect/sql-pg's pool exposes no counts, so the pool's use is read from PostgreSQL: the
  // connections named like ours (application_name "sesame") to this database, other than this one.
  const connections = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ConnectionRow,
    execute: () => sql`
      SELECT coalesce(state, 'unknown') AS state, count(*)::int AS count FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = current_setting('application_name')
        AND pid <> pg_backend_pid()
      GROUP BY 1`
  })
  return Effect.gen(function* () {
    const [queueRows, connectionRows] = yield* Effect.all([queues(undefined), connections(undefined)], { concurrency: 2 })
    const now = yield* Clock.currentTimeMillis
    const state = (name: string) => {
      const row = queueRows.find((r) => r.queue === name)
      return {
        depth: row?.depth ?? 0,
        oldestAgeSeconds: row?.oldestMs === null || row?.oldestMs === undefined ? 0 : Math.max(0, (now - row.oldestMs) / 1000)
      }
    }
    prometheus.setQueues(state("outbox"), state("webhooks"))
    prometheus.setConnections(connectionRows)
  }).pipe(
    Effect.timeout(SCRAPE_QUERY_TIMEOUT),
    Effect.matchCause({ onSuccess: () => prometheus.setDatabaseUp(true), onFailure: () => prometheus.setDatabaseUp(false) })
  )
}

const listenerOn = (port: number, host: string, prometheus: Prometheus, refresh: Effect.Effect<void>) => {
  const scrape = HttpRouter.add("GET", "/metrics", Effect.gen(function* () {
    yield* refresh
    const text = yield* Effect.promise(() => prometheus.registry.metrics())
    return HttpServerResponse.text(text, { contentType: prometheus.registry.contentType })
  }))
  const server = HttpRouter.serve(scrape, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host })),
    // a scrape is not a request worth a trace
    Layer.provide(Layer.succeed(References.TracerEnabled)(false))
  )
  return Layer.effect(MetricsAddress)(Effect.gen(function* () {
    const address = (yield* HttpServer.HttpServer).address
    yield* Effect.log(`metrics on ${HttpServer.formatAddress(address)}/metrics`)
    return address
  })).pipe(Layer.provide(server))
}

/**
 * The Prometheus listener on METRICS_HOST:METRICS_PORT, apart from the API's port, when the
 * observability layer installed Prometheus; nothing otherwise.
 */
export const layer = Layer.unwrap(Effect.gen(function* () {
  const prometheus = (yield* Metrics).prometheus
  const listen = Option.getOrUndefined((yield* AppConfig).metrics ?? Option.none())
  if (prometheus === undefined || listen === undefined) return Layer.empty
  const sql = yield* PgClient.PgClient
  const config = sql.config
  if ("maxConnections" in config && typeof config.maxConnections === "number") prometheus.setPoolMax(config.maxConnections)
  return listenerOn(listen.port, listen.host, prometheus, makeRefresh(sql, prometheus))
}))
