/**
 * The server's log output: Effect's pretty console logger, or JSON lines (`LOG_FORMAT=json`) with one
 * request line per HTTP request (http/RequestLog.ts) and the request id on every line logged while a
 * request runs. Nothing secret is logged; email addresses and phone numbers are masked where they are
 * logged (platform/Mask.ts).
 */
import { Context, Formatter, Layer, Logger, type LogLevel, References } from "effect"
import { type HttpRouter, HttpServerRequest } from "effect/http"

/** What the request line knows about one request; filled in as the request goes (route, tenant). */
export class RequestEntry {
  readonly requestId: string
  /** The matched route's template (`/v1/passwordless/:authRequestId`), never the raw path. */
  route: string | undefined = undefined
  /** The matched route itself (metrics key their series by it: no string work per request). */
  matched: HttpRouter.Route<unknown, unknown> | undefined = undefined
  /** The tenant, once an API key or access token has named it. */
  tenant: string | undefined = undefined
  constructor(requestId: string) {
    this.requestId = requestId
  }
}

// Kept on the platform's request object (Node's IncomingMessage), which every copy of the
// HttpServerRequest (a router's prefix, a middleware's modify) shares: no context to copy per request,
// and no WeakMap (its ephemerons cost the young-generation GC ~2.5 µs of CPU per request, measured).
const ENTRY = Symbol.for("sesame/RequestEntry")

export const setRequestEntry = (request: HttpServerRequest.HttpServerRequest, entry: RequestEntry): void => {
  Reflect.set(request.source, ENTRY, entry)
}

/** The request's entry, when the request log middleware runs in front of it. */
export const requestEntry = (request: HttpServerRequest.HttpServerRequest): RequestEntry | undefined => {
  const entry: unknown = Reflect.get(request.source, ENTRY)
  return entry instanceof RequestEntry ? entry : undefined
}

/** The request line's message: built once per logged request, formatted by the logger in use. */
export class RequestLine {
  readonly entry: RequestEntry
  readonly method: string
  readonly status: number
  readonly latencyMs: number
  constructor(entry: RequestEntry, method: string, status: number, latencyMs: number) {
    this.entry = entry
    this.method = method
    this.status = status
    this.latencyMs = latencyMs
  }
  /** The pretty logger's text: `POST /v1/passwordless/send 202 3.1 ms req_… ten_…`. */
  toJSON(): string {
    const { route, tenant, requestId } = this.entry
    return `${this.method} ${route ?? "(no route)"} ${this.status} ${this.latencyMs} ms ${requestId}${tenant === undefined ? "" : ` ${tenant}`}`
  }
}

const quote = JSON.stringify

/**
 * One request line, built as one string (no object to serialise): the tenant is a generated id and the
 * method a token Node's parser accepted; the request id (a caller's, checked in RequestLog.ts) and the
 * route are escaped anyway.
 */
const requestJson = (line: RequestLine, date: Date): string => {
  const { requestId, route, tenant } = line.entry
  return `{"message":"request","level":"INFO","timestamp":"${date.toISOString()}","requestId":${quote(requestId)},` +
    `"tenant":${tenant === undefined ? "null" : `"${tenant}"`},"route":${route === undefined ? "null" : quote(route)},` +
    `"method":"${line.method}","status":${line.status},"latencyMs":${line.latencyMs}}`
}

/**
 * JSON lines: the request line flat (`message: "request"` plus its fields), every other line as Effect's
 * structured JSON (`message`, `level`, `timestamp`, `annotations`, `cause`…) plus `requestId` when it
 * was logged while a request ran.
 */
export const jsonLogger = Logger.make<unknown, string>((options) => {
  const message = options.message
  const first = Array.isArray(message) && message.length === 1 ? message[0] : message
  if (first instanceof RequestLine) return requestJson(first, options.date)
  const structured: Record<string, unknown> = Logger.formatStructured.log(options)
  const request = Context.getOrUndefined(options.fiber.context, HttpServerRequest.HttpServerRequest)
  const entry = request === undefined ? undefined : requestEntry(request)
  return Formatter.formatJson(entry === undefined ? structured : { ...structured, requestId: entry.requestId })
})

/**
 * The server logs to stdout (pretty, or JSON lines); every other command logs to stderr so that its
 * stdout is exactly its output (`tenant create --json` prints one JSON line). `level` is LOG_LEVEL.
 */
export const loggerLayer = (options: { readonly format: "pretty" | "json"; readonly level: LogLevel.LogLevel; readonly toStdout: boolean }) =>
  Layer.merge(
    Logger.layer([
      options.toStdout
        ? (options.format === "json" ? Logger.withConsoleLog(jsonLogger) : Logger.consolePretty())
        : Logger.withConsoleError(Logger.formatSimple)
    ]),
    Layer.succeed(References.MinimumLogLevel)(options.level)
  )
