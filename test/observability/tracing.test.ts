/**
 * Tracing (issue 13 item 3) through the real server layers with the OpenTelemetry tracer, exporting
 * to memory: a span per request naming the route template and the tenant, SQL spans under it,
 * delivery spans (in the request's trace for a sync send, in the worker's own trace otherwise,
 * naming the message), and no link token in any span.
 */
import { assert, layer } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Tracer } from "effect"
import { layerWith } from "../../src/observability/TracingSdk.ts"
import { pgliteLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { wire } from "../support/Wire.ts"

const exporter = new InMemorySpanExporter()
const tracing = layerWith([new SimpleSpanProcessor(exporter)], "sesame-test")

/** Waits until a finished span matches (spans end just after the response is written); fails after ~10 s. */
const spanWhere = (what: string, match: (span: ReadableSpan) => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      const found = exporter.getFinishedSpans().find(match)
      if (found !== undefined) return found
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error(`no span: ${what}`))
  })

const requestSpan = (route: string, tenantId: string) =>
  spanWhere(`request ${route}`, (s) =>
    s.kind === SpanKind.SERVER && s.attributes["http.route"] === route && s.attributes["sesame.tenant_id"] === tenantId)

/** Whether `span` descends from `ancestor` (through the spans exported so far). */
const descendsFrom = (span: ReadableSpan, ancestor: ReadableSpan): boolean => {
  const byId = new Map(exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s]))
  let parent = span.parentSpanContext?.spanId
  while (parent !== undefined) {
    if (parent === ancestor.spanContext().spanId) return true
    parent = byId.get(parent)?.parentSpanContext?.spanId
  }
  return false
}

const sqlUnder = (request: ReadableSpan) =>
  exporter.getFinishedSpans().filter((s) =>
    s.attributes["db.system.name"] === "postgresql" && typeof s.attributes["db.query.text"] === "string" && descendsFrom(s, request))

layer(serverLayer(pgliteLayer, { workerPollMs: 100 }, tracing), { timeout: 60_000, excludeTestServices: true })("tracing (OpenTelemetry)", (it) => {
  it.effect("send and verify: a request span with route and tenant, SQL spans under it", () =>
    Effect.gen(function* () {
      const { tenant, keys } = yield* tenantFixture()
      const test = yield* clientFor(keys.test)
      const sent = yield* test.passwordless.send({ payload: { email: "trace@example.com" } })
      yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })

      const send = yield* requestSpan("/v1/passwordless/send", tenant.id)
      assert.strictEqual(send.attributes["http.response.status_code"], 202)
      assert.strictEqual(send.resource.attributes["service.name"], "sesame-test")
      assert.isAtLeast(sqlUnder(send).length, 1)
      const verify = yield* requestSpan("/v1/passwordless/verify", tenant.id)
      assert.strictEqual(verify.attributes["http.response.status_code"], 200)
      const verifySql = sqlUnder(verify)
      assert.isAtLeast(verifySql.length, 1)
      assert.isTrue(verifySql.every((s) => s.spanContext().traceId === verify.spanContext().traceId))
      // the domain's own spans sit between the request and its SQL
      assert.isTrue(exporter.getFinishedSpans().some((s) => s.name === "Passwordless.verify" && descendsFrom(s, verify)))
    }))

  it.effect("deliveries: a sync send's delivery span is in the request's trace; the worker's names the message", () =>
    Effect.gen(function* () {
      const { tenant, keys } = yield* tenantFixture("Deliveries")
      const live = yield* clientFor(keys.live)
      const sync = yield* live.passwordless.send({ payload: { email: "sync@example.com", deliver: "sync" } })
      assert.strictEqual(sync.delivery, "sent")
      const request = yield* requestSpan("/v1/passwordless/send", tenant.id)
      const inline = yield* spanWhere("sync delivery", (s) =>
        s.name === "DeliveryWorker.deliver" && s.attributes["sesame.auth_request_id"] === sync.authRequestId)
      assert.strictEqual(inline.spanContext().traceId, request.spanContext().traceId)
      assert.isTrue(descendsFrom(inline, request))
      assert.strictEqual(inline.attributes["sesame.delivery.outcome"], "sent")
      assert.match(String(inline.attributes["sesame.message_id"]), /^msg_/)

      const queued = yield* live.passwordless.send({ payload: { email: "queued@example.com" } })
      assert.strictEqual(queued.delivery, "queued")
      const worker = yield* spanWhere("worker delivery", (s) =>
        s.name === "DeliveryWorker.deliver" && s.attributes["sesame.auth_request_id"] === queued.authRequestId)
      assert.strictEqual(worker.attributes["sesame.tenant_id"], tenant.id)
      assert.strictEqual(worker.attributes["sesame.delivery.outcome"], "sent")
      // its SQL (markSent) is traced under it
      assert.isAtLeast(sqlUnder(worker).length, 1)
    }))

  it.effect("a link token in the path never reaches a span: the URL is the route template", () =>
    Effect.gen(function* () {
      const { keys } = yield* tenantFixture("Links")
      const test = yield* clientFor(keys.test)
      const sent = yield* test.passwordless.send({ payload: { email: "link@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
      const token = sent.linkToken ?? ""
      assert.isAbove(token.length, 20)
      const page = yield* wire(`${yield* baseUrl}/l/${token}?utm=${token}`)
      assert.strictEqual(page.status, 200)
      const span = yield* spanWhere("link page", (s) => s.kind === SpanKind.SERVER && s.attributes["http.route"] === "/l/:linkToken")
      assert.strictEqual(span.attributes["url.path"], "/l/:linkToken")
      assert.match(String(span.attributes["url.full"]), /^http:\/\/127\.0\.0\.1:\d+\/l\/:linkToken$/)
      assert.strictEqual(span.attributes["url.query"], "<redacted>")
      const everything = JSON.stringify(exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })))
      assert.notInclude(everything, token)
    }))
})

// Without OTEL_EXPORTER_OTLP_ENDPOINT no span is made at all, even with a tracer installed: TracerEnabled is off.
const made: Array<string> = []
const counting = Tracer.make({
  span: (options) => {
    made.push(options.name)
    return Tracer.nativeTracer.span(options)
  }
})

layer(serverLayer(pgliteLayer, { workerPollMs: 100 }).pipe(Layer.provide(Layer.succeed(Tracer.Tracer)(counting))), {
  timeout: 60_000, excludeTestServices: true
})("tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)", (it) => {
  it.effect("requests, SQL and the delivery worker make no span", () =>
    Effect.gen(function* () {
      const { keys } = yield* tenantFixture()
      const test = yield* clientFor(keys.test)
      const live = yield* clientFor(keys.live)
      made.length = 0
      const sent = yield* test.passwordless.send({ payload: { email: "off@example.com" } })
      yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      const queued = yield* live.passwordless.send({ payload: { email: "off-live@example.com" } })
      for (let i = 0; i < 100; i++) {
        const status = yield* live.passwordless.status({ params: { authRequestId: queued.authRequestId } })
        if (status.delivery.status === "sent") break
        yield* Effect.sleep("100 millis")
      }
      const status = yield* live.passwordless.status({ params: { authRequestId: queued.authRequestId } })
      assert.strictEqual(status.delivery.status, "sent")
      assert.deepStrictEqual(made, [])
    }))
})
