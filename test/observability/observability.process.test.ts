/**
 * Metrics and tracing in a real `sesame serve` (the wiring of src/Commands.ts): the metrics listener
 * is on METRICS_PORT on loopback only (not reachable on 127.0.0.2, another loopback address), the
 * API's port has no /metrics, and with OTEL_EXPORTER_OTLP_ENDPOINT the request spans arrive at an
 * OTLP/HTTP receiver.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { has, parseExposition, valueOf } from "../support/Exposition.ts"
import { eventually, freePort, type ServerProcess, startServer } from "../support/Processes.ts"

const bodyOf = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let text = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => (text += chunk))
    request.on("end", () => resolve(text))
  })

describe("observability of a server process", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-obs-"))
  const exports: Array<{ path: string; body: string }> = []
  let receiver: Server | undefined
  let server: ServerProcess | undefined
  let metricsPort = 0

  beforeAll(async () => {
    // a stand-in OTLP/HTTP collector
    receiver = createServer((request, response) => {
      void bodyOf(request).then((body) => {
        exports.push({ path: request.url ?? "", body })
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve))
    const address = receiver.address()
    const otlpPort = typeof address === "object" && address !== null ? address.port : 0
    metricsPort = await freePort()
    server = await startServer({
      SESAME_DATA_DIR: dataDir,
      METRICS_PORT: String(metricsPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
      OTEL_SERVICE_NAME: "sesame-process-test"
    }, { timeoutMs: 60_000 })
  }, 90_000)

  afterAll(async () => {
    await server?.stop()
    await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("serves /metrics on METRICS_PORT, bound to 127.0.0.1 only; the API port has none", async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.strictEqual(response.status, 200)
    const series = parseExposition(await response.text())
    assert.isTrue(has(series, "process_resident_memory_bytes"))
    // startServer polled /readyz until it answered 200
    assert.isAtLeast(valueOf(series, "sesame_http_requests_total", { method: "GET", route: "/readyz", status: "200" }), 1)
    assert.strictEqual(valueOf(series, "sesame_db_up"), 1)

    const elsewhere = await fetch(`http://127.0.0.2:${metricsPort}/metrics`).then(() => "answered", (e: unknown) => String(e))
    assert.notStrictEqual(elsewhere, "answered")
    const onApi = await fetch(`${server?.url ?? ""}/metrics`)
    assert.strictEqual(onApi.status, 404)
    const notMetrics = await fetch(`http://127.0.0.1:${metricsPort}/other`)
    assert.strictEqual(notMetrics.status, 404)
  })

  it("exports request spans over OTLP/HTTP with the service name and the route", async () => {
    await fetch(`${server?.url ?? ""}/readyz`)
    // the batch processor sends every ~5 s
    const exported = await eventually("an OTLP export", () =>
      Promise.resolve(exports.find((e) => e.path === "/v1/traces" && e.body.includes("/readyz"))), 20_000, 200)
    assert.include(exported.body, "sesame-process-test")
    assert.include(exported.body, "http.route")
  }, 30_000)
})
