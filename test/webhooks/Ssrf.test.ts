import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { refusal } from "../../src/webhooks/AddressPolicy.ts"
import { Resolver } from "../../src/webhooks/Resolver.ts"
import { layerWith, type OutboundPolicy, WebhookSender } from "../../src/webhooks/Sender.ts"

const hosts = Resolver.layerTest({
  "loopback.test": ["127.0.0.1"],
  "loopback6.test": ["::1"],
  "metadata.test": ["169.254.169.254"],
  "mixed.test": ["93.184.215.14", "10.0.0.1"],
  "public.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
})
const strict: OutboundPolicy = { allowPrivate: false, requireHttps: false }
const sender = (policy: OutboundPolicy) => layerWith(policy).pipe(Layer.provide(hosts))

const checked = (url: string, policy: OutboundPolicy = strict) =>
  Effect.flatMap(WebhookSender, (s) => s.check(url)).pipe(
    Effect.as("allowed" as const),
    Effect.catchTag("OutboundError", (e) => Effect.succeed(e.refused ? `refused: ${e.reason}` : `error: ${e.reason}`)),
    Effect.provide(sender(policy))
  )

/** A receiver on 127.0.0.1 that counts requests and answers with `handler`. */
const receiver = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(() => new Promise<{ server: Server; port: number; hits: Array<IncomingMessage> }>((resolve) => {
      const hits: Array<IncomingMessage> = []
      const server = createServer((req, res) => {
        hits.push(req)
        handler(req, res)
      })
      server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port, hits }))
    })),
    ({ server }) => Effect.promise(() => new Promise<void>((done) => {
      server.closeAllConnections()
      server.close(() => done())
    }))
  )

describe("SSRF: refused addresses", () => {
  const refused = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.170.2",
    "100.64.0.1", "100.100.100.200", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.0.192", "168.63.129.16",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::127.0.0.1", "fe80::1", "fc00::1",
    "fd00:ec2::254", "ff02::1", "64:ff9b::7f00:1", "2002:7f00:1::1", "[::1]"
  ]
  for (const address of refused) {
    it(`refuses ${address}`, () => assert.isDefined(refusal(address), address))
  }
  for (const address of ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]) {
    it(`allows ${address}`, () => assert.isUndefined(refusal(address)))
  }
})

describe("SSRF: webhook URLs", () => {
  const table: ReadonlyArray<readonly [string, RegExp]> = [
    ["http://127.0.0.1/hook", /^refused: 127\.0\.0\.1 is a loopback/],
    ["http://10.0.0.1/hook", /^refused: .*private/],
    ["http://169.254.169.254/latest/meta-data/", /^refused: .*metadata/],
    ["http://[::1]:8080/hook", /^refused: ::1 is a loopback/],
    ["http://[::ffff:127.0.0.1]/hook", /^refused: .*IPv4-mapped/],
    ["http://0.0.0.0/hook", /^refused: .*unspecified/],
    ["http://2130706433/hook", /^refused: 127\.0\.0\.1 is a loopback/], // the URL parser's decimal form
    ["http://0x7f.1/hook", /^refused: 127\.0\.0\.1 is a loopback/],
    ["http://loopback.test/hook", /^refused: loopback\.test resolves to 127\.0\.0\.1 is a loopback/],
    ["http://loopback6.test/hook", /^refused: loopback6\.test resolves to ::1/],
    ["http://metadata.test/hook", /^refused: .*metadata/],
    ["http://mixed.test/hook", /^refused: mixed\.test resolves to 10\.0\.0\.1/], // one bad address is enough
    ["http://user:pass@public.test/hook", /^refused: .*credentials/],
    ["ftp://public.test/hook", /^refused: .*http/],
    ["not a url", /^refused: not an absolute URL/],
    ["https://public.test/hook", /^allowed$/],
    ["https://unknown.test/hook", /^error: .*ENOTFOUND/]
  ]
  for (const [url, expected] of table) {
    it.effect(url, () => Effect.map(checked(url), (result) => assert.match(result, expected)))
  }

  it.effect("production: only https", () =>
    Effect.gen(function* () {
      const production = { allowPrivate: false, requireHttps: true }
      assert.match(yield* checked("http://public.test/hook", production), /^refused: the URL must be https/)
      assert.strictEqual(yield* checked("https://public.test/hook", production), "allowed")
    }))

  it.effect("WEBHOOKS_ALLOW_PRIVATE lifts the address checks (not the form checks)", () =>
    Effect.gen(function* () {
      const open = { allowPrivate: true, requireHttps: false }
      assert.strictEqual(yield* checked("http://127.0.0.1:9/hook", open), "allowed")
      assert.strictEqual(yield* checked("http://loopback.test/hook", open), "allowed")
      assert.match(yield* checked("http://user:pass@loopback.test/hook", open), /^refused/)
    }))
})

describe("SSRF: at delivery time", () => {
  const post = (url: string, policy: OutboundPolicy, timeoutMs = 2000) =>
    Effect.flatMap(WebhookSender, (s) => s.post({ url, headers: { "content-type": "application/json" }, body: "{}", timeoutMs })).pipe(
      Effect.provide(sender(policy)))

  it.live("a name resolving to loopback is refused before any connection", () =>
    Effect.gen(function* () {
      const { port, hits } = yield* receiver((_req, res) => res.end("ok"))
      const error = yield* Effect.flip(post(`http://loopback.test:${port}/hook`, strict))
      assert.isTrue(error.refused)
      assert.strictEqual(hits.length, 0)
    }))

  it.live("the connection goes to the checked address (pinned), with the URL's Host", () =>
    Effect.gen(function* () {
      const { port, hits } = yield* receiver((_req, res) => res.end("ok"))
      // Only the test resolver knows loopback.test: a second resolution by node would fail.
      const response = yield* post(`http://loopback.test:${port}/hook`, { allowPrivate: true, requireHttps: false })
      assert.strictEqual(response.status, 200)
      assert.strictEqual(hits[0]?.headers.host, `loopback.test:${port}`)
    }))

  it.live("redirects are not followed", () =>
    Effect.gen(function* () {
      const { port, hits } = yield* receiver((req, res) => {
        if (req.url === "/hook") res.writeHead(307, { location: "/elsewhere" }).end()
        else res.end("followed")
      })
      const response = yield* post(`http://127.0.0.1:${port}/hook`, { allowPrivate: true, requireHttps: false })
      assert.strictEqual(response.status, 307)
      assert.deepStrictEqual(hits.map((h) => h.url), ["/hook"])
    }))

  it.live("a receiver that never answers times out", () =>
    Effect.gen(function* () {
      const { port } = yield* receiver(() => undefined)
      const error = yield* Effect.flip(post(`http://127.0.0.1:${port}/hook`, { allowPrivate: true, requireHttps: false }, 300))
      assert.match(error.reason, /timed out after 300 ms/)
      assert.isFalse(error.refused)
    }))
})
