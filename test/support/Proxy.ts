/**
 * A small round-robin HTTP reverse proxy (node:http) standing in for a load balancer in front of
 * several Sesame processes: each request goes to the next backend in turn (no stickiness), bodies
 * stream both ways, and the caller's address is appended to X-Forwarded-For, as nginx's
 * `$proxy_add_x_forwarded_for` does. Used by test/e2e/threeprocs.pg.test.ts and `BENCH_PROCESSES`
 * (bench/proxy.ts).
 */
import { Agent, createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"

export interface Proxy {
  readonly port: number
  readonly url: string
  /** Requests forwarded so far to each backend, in the order of `backends`. */
  readonly counts: () => ReadonlyArray<number>
  readonly close: () => Promise<void>
}

export interface ProxyOptions {
  /** Port to listen on (0, the default: any free port). */
  readonly port?: number
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string
  /**
   * Local address of the connections to the backends (e.g. 127.0.0.2): lets a test tell the proxy's
   * hop (the backend's socket peer, to put in TRUST_PROXY) from the client's (127.0.0.1).
   */
  readonly localAddress?: string
}

// RFC 9110 §7.6.1: hop-by-hop fields are not forwarded.
const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"])

const forwardable = (headers: IncomingHttpHeaders): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = {}
  const named = String(headers["connection"] ?? "").toLowerCase().split(",").map((h) => h.trim())
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name) && !named.includes(name)) out[name] = value
  }
  return out
}

/** Starts the proxy in front of `backends` (base URLs such as `http://127.0.0.1:8787`). */
export const startProxy = (backends: ReadonlyArray<string>, options: ProxyOptions = {}): Promise<Proxy> =>
  new Promise((resolve, reject) => {
    if (backends.length === 0) {
      reject(new Error("startProxy: no backends"))
      return
    }
    const targets = backends.map((b) => new URL(b))
    const counts = backends.map(() => 0)
    const agent = new Agent({ keepAlive: true })
    let next = 0

    const server = createServer((req, res) => {
      const index = next
      next = (next + 1) % targets.length
      counts[index] = (counts[index] ?? 0) + 1
      const target = targets[index]!
      const headers = forwardable(req.headers)
      const peer = req.socket.remoteAddress ?? ""
      const prior = req.headers["x-forwarded-for"]
      headers["x-forwarded-for"] = prior === undefined || prior === "" ? peer : `${prior}, ${peer}`
      const upstream = httpRequest({
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
      }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.headers))
        answer.pipe(res)
        answer.once("error", () => res.destroy())
      })
      upstream.once("error", () => {
        if (res.headersSent) res.destroy()
        else res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway")
      })
      req.pipe(upstream)
      req.once("error", () => upstream.destroy())
      res.once("close", () => {
        if (!res.writableFinished) upstream.destroy()
      })
    })
    server.keepAliveTimeout = 30_000
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject)
      const { port, address } = server.address() as AddressInfo
      resolve({
        port,
        url: `http://${address.includes(":") ? `[${address}]` : address}:${port}`,
        counts: () => [...counts],
        close: () => new Promise<void>((done) => {
          agent.destroy()
          server.closeAllConnections()
          server.close(() => done())
        })
      })
    })
  })
