import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import type { MetricsRecorder } from "./Metrics.ts"

/** Request latencies of an auth API: most answers take milliseconds, a sync send seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface CounterChild {
  readonly inc: (value?: number) => void
}
interface HistogramChild {
  readonly observe: (value: number) => void
}

/** One route template's series: its latency histogram and a counter per status, made on first use. */
interface RouteSeries {
  readonly duration: HistogramChild
  readonly byStatus: Map<number, CounterChild>
  readonly method: string
  readonly path: string
}

/** A queue's state at scrape time. */
export interface QueueState {
  readonly depth: number
  readonly oldestAgeSeconds: number
}

export interface Prometheus {
  readonly registry: Registry
  /**
   * One answered request. `route` identifies the matched route template (the router's own route
   * object, so the lookup allocates nothing); `undefined` for a request that matched no route.
   */
  readonly observeRequest: (route: object | undefined, method: string, path: string, status: number, seconds: number) => void
  readonly setQueues: (outbox: QueueState, webhooks: QueueState) => void
  /** Connections by state (`active`, `idle`, `idle in transaction`, …) as PostgreSQL reports them. */
  readonly setConnections: (byState: ReadonlyArray<{ readonly state: string; readonly count: number }>) => void
  /** Whether the scrape's database queries answered (1) or failed or timed out (0). */
  readonly setDatabaseUp: (up: boolean) => void
  readonly setPoolMax: (connections: number) => void
}

/** Children of a labelled counter, made once per label combination and reused (no allocation once made). */
const cached = <K, V>(make: (key: K) => V) => {
  const cache = new Map<K, V>()
  return (key: K): V => {
    let value = cache.get(key)
    if (value === undefined) {
      value = make(key)
      cache.set(key, value)
    }
    return value
  }
}
const children1 = (counter: Counter<string>) => cached((a: string): CounterChild => counter.labels(a))
const children2 = (counter: Counter<string>) => cached((a: string) => cached((b: string): CounterChild => counter.labels(a, b)))
const children3 = (counter: Counter<string>) =>
  cached((a: string) => cached((b: string) => cached((c: string): CounterChild => counter.labels(a, b, c))))

/** A fresh registry (one per server, so tests can run several) with Sesame's instruments and the process metrics. */
export const make = (): MetricsRecorder & { readonly prometheus: Prometheus } => {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  const requests = new Counter({
    name: "sesame_http_requests_total", help: "HTTP requests answered, by route template and status.",
    labelNames: ["method", "route", "status"] as const, registers
  })
  const duration = new Histogram({
    name: "sesame_http_request_duration_seconds", help: "Time from the request reaching the server to its answer, by route template.",
    labelNames: ["method", "route"] as const, buckets: LATENCY_BUCKETS, registers
  })
  const sends = children2(new Counter({
    name: "sesame_send_requests_total", help: "Sends answered by the API, by channel and outcome (accepted or the error code).",
    labelNames: ["channel", "outcome"] as const, registers
  }))
  const deliveries = children3(new Counter({
    name: "sesame_message_deliveries_total", help: "Outbox delivery attempts (email, SMS), by channel, provider and outcome.",
    labelNames: ["channel", "provider", "outcome"] as const, registers
  }))
  const verifies = children1(new Counter({
    name: "sesame_verify_requests_total", help: "Verifies and confirms, by outcome (success or the error code).",
    labelNames: ["outcome"] as const, registers
  }))
  const webhooks = children1(new Counter({
    name: "sesame_webhook_deliveries_total", help: "Webhook delivery attempts, by outcome.",
    labelNames: ["outcome"] as const, registers
  }))
  const limited = children1(new Counter({
    name: "sesame_rate_limited_total", help: "Requests refused with RATE_LIMITED, by limit.",
    labelNames: ["limit"] as const, registers
  }))
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers })
  const outboxDepth = gauge("sesame_outbox_queue_depth", "Outbox messages queued or being sent (every process).")
  const outboxAge = gauge("sesame_outbox_queue_oldest_age_seconds", "Age of the oldest queued or sending outbox message; 0 when empty.")
  const webhookDepth = gauge("sesame_webhook_queue_depth", "Webhook deliveries pending or being sent (every process).")
  const webhookAge = gauge("sesame_webhook_queue_oldest_age_seconds", "Age of the oldest pending or sending webhook delivery; 0 when empty.")
  const databaseUp = gauge("sesame_db_up", "Whether the scrape's database queries answered within their timeout.")
  const connections = new Gauge({
    name: "sesame_db_connections", help: "PostgreSQL connections of Sesame processes to this database, by state (pg_stat_activity).",
    labelNames: ["state"] as const, registers
  })
  const poolMax = gauge("sesame_db_pool_max_connections", "The most connections this process's pool opens.")

  const unmatched = {}
  const routes = new Map<object, RouteSeries>()
  const seriesOf = (route: object | undefined, method: string, path: string): RouteSeries => {
    const key = route ?? unmatched
    let series = routes.get(key)
    if (series === undefined) {
      const label = route === undefined ? "unmatched" : path
      const verb = route === undefined ? "*" : method
      series = { duration: duration.labels(verb, label), byStatus: new Map(), method: verb, path: label }
      routes.set(key, series)
    }
    return series
  }

  const prometheus: Prometheus = {
    registry,
    observeRequest: (route, method, path, status, seconds) => {
      const series = seriesOf(route, method, path)
      let counter = series.byStatus.get(status)
      if (counter === undefined) {
        counter = requests.labels(series.method, series.path, String(status))
        series.byStatus.set(status, counter)
      }
      counter.inc()
      series.duration.observe(seconds)
    },
    setQueues: (outbox, webhook) => {
      outboxDepth.set(outbox.depth)
      outboxAge.set(outbox.oldestAgeSeconds)
      webhookDepth.set(webhook.depth)
      webhookAge.set(webhook.oldestAgeSeconds)
    },
    setConnections: (byState) => {
      connections.reset()
      for (const { state, count } of byState) connections.labels(state).set(count)
    },
    setDatabaseUp: (up) => databaseUp.set(up ? 1 : 0),
    setPoolMax: (connections) => poolMax.set(connections)
  }
  return {
    enabled: true,
    sendRequest: (channel, outcome) => sends(channel)(outcome).inc(),
    delivery: (channel, provider, outcome) => deliveries(channel)(provider)(outcome).inc(),
    verify: (outcome) => verifies(outcome).inc(),
    webhookDelivery: (outcome) => webhooks(outcome).inc(),
    rateLimited: (limit) => limited(limit).inc(),
    prometheus
  }
}
