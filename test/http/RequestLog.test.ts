/**
 * The request log middleware (http/RequestLog.ts) on a small router: the request id (taken when
 * sane, else made) on every response, errors and unrouted paths included; one request line per
 * request with the route's template, never the raw path; the line's level (INFO with
 * LOG_FORMAT=json, DEBUG with the pretty format) against LOG_LEVEL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { RequestLogLive, RouteTemplateLive } from "../../src/http/RequestLog.ts"
import { RequestLine } from "../../src/platform/Logging.ts"
import { testConfig } from "../support/Server.ts"

const Routes = HttpRouter.use((router) =>
  Effect.andThen(
    router.add("GET", "/items/:itemId", HttpServerResponse.text("item")),
    router.add("POST", "/fail", Effect.die("boom"))
  ))

/** A web handler over the routes with the request log in front, and the log lines it wrote. */
const serve = (format: "pretty" | "json", minimum: LogLevel.LogLevel) => {
  const logged: Array<{ readonly level: string; readonly line: RequestLine }> = []
  const collect = Logger.make((options) => {
    const message = Array.isArray(options.message) ? options.message[0] : options.message
    if (message instanceof RequestLine) logged.push({ level: options.logLevel, line: message })
  })
  const app = Layer.mergeAll(Routes.pipe(Layer.provide(RouteTemplateLive)), RequestLogLive).pipe(
    Layer.provideMerge(Layer.mergeAll(
      testConfig({ logFormat: format }),
      Logger.layer([collect]),
      Layer.succeed(References.MinimumLogLevel)(minimum)
    ))
  )
  const { handler, dispose } = HttpRouter.toWebHandler(app, { disableLogger: true })
  const fetch = (path: string, init?: RequestInit) => Effect.promise(() => handler(new Request(`http://sesame.test${path}`, init)))
  return { fetch, logged, dispose: Effect.promise(dispose) }
}

describe("request log", () => {
  it.effect("JSON format: one INFO line per request with the route template; the request id is echoed, taken when sane", () =>
    Effect.gen(function* () {
      const { fetch, logged, dispose } = serve("json", "Info")
      const item = yield* fetch("/items/itm_secret123", { headers: { "x-request-id": "abc-123" } })
      assert.strictEqual(item.status, 200)
      assert.strictEqual(item.headers.get("x-request-id"), "abc-123")
      const failed = yield* fetch("/fail", { method: "POST", headers: { "x-request-id": "no spaces allowed" } })
      assert.strictEqual(failed.status, 500)
      const made = failed.headers.get("x-request-id") ?? ""
      assert.match(made, /^req_[A-Za-z0-9]{22}$/)
      const lost = yield* fetch("/nowhere/tok_secret456")
      assert.strictEqual(lost.status, 404)
      assert.match(lost.headers.get("x-request-id") ?? "", /^req_/)
      assert.notStrictEqual(lost.headers.get("x-request-id"), made)
      yield* dispose
      assert.deepStrictEqual(
        logged.map(({ level, line }) => [level, line.entry.requestId === made ? "made" : line.entry.requestId, line.method, line.entry.route, line.status]),
        [
          ["Info", "abc-123", "GET", "/items/:itemId", 200],
          ["Info", "made", "POST", "/fail", 500],
          ["Info", lost.headers.get("x-request-id"), "GET", undefined, 404]
        ]
      )
      for (const { line } of logged) assert.isAtLeast(line.latencyMs, 0)
      assert.notInclude(JSON.stringify(logged.map(({ line }) => line.toJSON())), "secret")
    }))

  it.effect("pretty format: the line is DEBUG, so LOG_LEVEL=info (the default) writes none; LOG_LEVEL=debug writes it", () =>
    Effect.gen(function* () {
      const quiet = serve("pretty", "Info")
      const answer = yield* quiet.fetch("/items/1")
      assert.match(answer.headers.get("x-request-id") ?? "", /^req_/)
      yield* quiet.dispose
      assert.strictEqual(quiet.logged.length, 0)
      const verbose = serve("pretty", "Debug")
      yield* verbose.fetch("/items/1")
      yield* verbose.dispose
      assert.deepStrictEqual(verbose.logged.map(({ level, line }) => [level, line.entry.route]), [["Debug", "/items/:itemId"]])
      assert.match(verbose.logged[0]?.line.toJSON() ?? "", /^GET \/items\/:itemId 200 [\d.]+ ms req_\w+$/)
    }))

  it.effect("JSON format with LOG_LEVEL=warn: no request line, the request id is still echoed", () =>
    Effect.gen(function* () {
      const { fetch, logged, dispose } = serve("json", "Warn")
      const answer = yield* fetch("/items/1")
      yield* dispose
      assert.match(answer.headers.get("x-request-id") ?? "", /^req_/)
      assert.strictEqual(logged.length, 0)
    }))
})
