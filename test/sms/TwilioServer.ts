import { createServer, type IncomingMessage, type Server } from "node:http"

export interface TwilioRequest {
  readonly path: string
  readonly authorization: string | undefined
  readonly contentType: string | undefined
  readonly form: Record<string, string>
}

export type Reply = { readonly status: number; readonly body?: unknown } | "hang"

/** A local stand-in for the Twilio Messages API: records each request, answers with `reply`. */
export const startTwilio = async (reply: (req: TwilioRequest) => Reply) => {
  const requests: Array<TwilioRequest> = []
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = ""
      req.on("data", (chunk) => { body += chunk })
      req.on("end", () => resolve(body))
    })
  const server: Server = createServer(async (req, res) => {
    const body = await read(req)
    const request: TwilioRequest = {
      path: req.url ?? "",
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      form: Object.fromEntries(new URLSearchParams(body))
    }
    requests.push(request)
    const r = reply(request)
    if (r === "hang") return
    res.writeHead(r.status, { "content-type": "application/json" })
    res.end(JSON.stringify(r.body ?? { sid: "SM123", status: "queued" }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
