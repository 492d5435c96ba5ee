import { request as httpRequest, type IncomingHttpHeaders } from "node:http"
import { Effect } from "effect"

export interface WireResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface WireRequest {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  /** A string is sent with its Content-Length; an array is sent chunked, one write per element. */
  readonly body?: string | ReadonlyArray<string>
  /** The local address to connect from (the peer address the server sees). */
  readonly localAddress?: string
}

/**
 * One raw HTTP/1.1 exchange: exact control of framing and headers, which fetch does not give.
 * Resolves with the response even when the server closes before the whole body was sent.
 */
export const wire = (url: string, options: WireRequest = {}): Effect.Effect<WireResponse> =>
  Effect.promise(() =>
    new Promise<WireResponse>((resolve, reject) => {
      const body = options.body
      const headers = { ...options.headers, ...(typeof body === "string" ? { "content-length": String(Buffer.byteLength(body)) } : {}) }
      const req = httpRequest(url, {
        method: options.method ?? "GET",
        headers,
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
      }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
        res.on("error", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      })
      // Writing on after an early answer may reset the connection: only a failure before any answer counts.
      req.on("error", reject)
      req.on("response", () => req.off("error", reject).on("error", () => {}))
      if (Array.isArray(body)) {
        for (const chunk of body) req.write(chunk)
        req.end()
      } else {
        req.end(body)
      }
    })
  )

export const jsonOf = (response: WireResponse): Record<string, unknown> => {
  const parsed: unknown = JSON.parse(response.body)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`not a JSON object: ${response.body}`)
  return { ...parsed }
}
