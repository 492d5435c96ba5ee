/**
 * A local webhook receiver for end-to-end tests: an HTTP server on 127.0.0.1 that keeps every request
 * (headers and raw body) and answers as the test's `behave` says: a status, after an optional delay,
 * or "hang" (never answer: the sender must time out).
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export type Behaviour = number | "hang" | { readonly status: number; readonly delayMs: number }

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly receivedAt: number
  /** When the answer went out (undefined while in flight, or for "hang"). */
  answeredAt: number | undefined
  status: number | undefined
}

export interface Receiver {
  readonly port: number
  readonly url: (path?: string) => string
  readonly received: Array<Received>
  /** Requests in flight per webhook-id right now, and the most ever seen at once for any one id. */
  readonly maxConcurrentPerId: () => number
  readonly close: () => Promise<void>
}

/** `behave(request, nth)`: nth counts this path's requests from 1. */
export const startReceiver = (
  behave: (request: Received, nth: number) => Behaviour = () => 200,
  port = 0
): Promise<Receiver> =>
  new Promise((resolve, reject) => {
    const received: Array<Received> = []
    const perPath = new Map<string, number>()
    const inFlight = new Map<string, number>()
    let maxConcurrent = 0
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const path = req.url ?? "/"
        const nth = (perPath.get(path) ?? 0) + 1
        perPath.set(path, nth)
        const entry: Received = {
          path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now(),
          answeredAt: undefined, status: undefined
        }
        received.push(entry)
        const id = String(req.headers["webhook-id"])
        const now = (inFlight.get(id) ?? 0) + 1
        inFlight.set(id, now)
        maxConcurrent = Math.max(maxConcurrent, now)
        const done = () => inFlight.set(id, (inFlight.get(id) ?? 1) - 1)
        res.on("close", done)
        const behaviour = behave(entry, nth)
        if (behaviour === "hang") return
        const { status, delayMs } = typeof behaviour === "number" ? { status: behaviour, delayMs: 0 } : behaviour
        setTimeout(() => {
          entry.answeredAt = Date.now()
          entry.status = status
          res.writeHead(status, { "content-type": "text/plain" }).end("ok")
        }, delayMs)
      })
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as AddressInfo).port
      resolve({
        port: bound,
        url: (path = "/hook") => `http://127.0.0.1:${bound}${path}`,
        received,
        maxConcurrentPerId: () => maxConcurrent,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections()
          server.close(() => done())
        })
      })
    })
  })

/** Polls until `probe` returns a value other than undefined; rejects after `timeoutMs`. */
export const until = async <A>(what: string, probe: () => A | undefined, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
