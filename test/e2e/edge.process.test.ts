/**
 * The edge of a real `sesame serve` process (issue 10, items 3 and 7): a large body to the hosted page
 * is refused before it is read, measured on the server process's own memory, and HOST decides where
 * it listens. A child process, not the test's own: the test process also holds the client's 20 MB of
 * bodies, vitest and other suites' servers, so only a separate process's RSS is the server's alone.
 * Its peak (VmHWM, reset through /proc/PID/clear_refs) catches a transient spike that a before/after
 * RSS sample would miss when GC runs in between. RSS alone cannot tell a 2 MB read apart (a server
 * that holds ~650 MB after PGlite's start reuses freed pages: the old code read all 40 MB and grew
 * 0–25 MB, run to run), so the bytes it read from its sockets (/proc/PID/io rchar) are counted too:
 * ~128 KiB per refused body (what was in flight), against 2 MB per body when it is read.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type ServerProcess, startServer } from "../support/Processes.ts"
import { jsonOf, wire } from "../support/Wire.ts"

const linux = existsSync("/proc/self/status")
const BODY = 2 * 1024 * 1024
// Same origin as PUBLIC_URL: the page reads the form of a same-origin POST, which is what must be bounded.
const form = { "content-type": "application/x-www-form-urlencoded", origin: "http://sesame.test" }

const kib = (pid: number, field: "VmRSS" | "VmHWM"): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN)
/** Bytes the process has passed to read() so far, sockets included (proc(5), /proc/PID/io). */
const bytesRead = (pid: number): number => Number(/^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? NaN)

/** Sends the headers and the first 64 KiB of a 2 MB body, and waits for an answer without sending the rest. */
const answerBeforeBody = (url: string): Promise<{ status: number; body: string } | "no answer"> =>
  new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { ...form, "content-length": String(BODY) }, agent: false })
    const timer = setTimeout(() => {
      req.destroy()
      resolve("no answer")
    }, 10_000)
    req.on("error", () => {})
    req.on("response", (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => {
        clearTimeout(timer)
        req.destroy()
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.write("csrf=" + "a".repeat(64 * 1024))
  })

describe.skipIf(!linux)("the edge of a server process (HOST=127.0.0.2)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-edge-"))
  let server: ServerProcess | undefined
  const page = () => `${server?.url ?? ""}/l/${"t".repeat(43)}`

  beforeAll(async () => {
    server = await startServer({ SESAME_DATA_DIR: dataDir, HOST: "127.0.0.2", PUBLIC_URL: "http://sesame.test" }, { timeoutMs: 60_000 })
  }, 90_000)
  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("HOST: it listens on the configured address only, and its log says where", async () => {
    const port = server?.port ?? 0
    assert.strictEqual((await fetch(`http://127.0.0.2:${port}/healthz`)).status, 200)
    const elsewhere = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => `answered ${response.status}`,
      (error: unknown) => error instanceof Error && error.cause instanceof Error && "code" in error.cause ? error.cause.code : String(error)
    )
    assert.strictEqual(elsewhere, "ECONNREFUSED")
    assert.include(server?.output() ?? "", `Sesame listening on http://127.0.0.2:${port} `)
  })

  it("POST /l/{token} with a 2 MB body is answered 413 while the body is still unsent", async () => {
    const answer = await answerBeforeBody(page())
    assert.notStrictEqual(answer, "no answer", "the server waited for the body instead of refusing it by its Content-Length")
    if (answer === "no answer") return
    assert.strictEqual(answer.status, 413)
    assert.strictEqual(JSON.parse(answer.body).code, "PAYLOAD_TOO_LARGE")
  }, 30_000)

  it("twenty concurrent 2 MB bodies to POST /l/{token}: all 413, the server reads a fraction of them and its peak RSS grows < 4 MB", async () => {
    const pid = server?.pid ?? -1
    const send = (bytes: number) => () =>
      Effect.runPromise(wire(page(), { method: "POST", headers: form, body: "csrf=" + "a".repeat(bytes) }))
    // Warm up the path (JIT, the first connections' allocations) with small refused bodies.
    for (let i = 0; i < 3; i++) await send(8 * 1024)()
    writeFileSync(`/proc/${pid}/clear_refs`, "5")
    const before = { rss: kib(pid, "VmRSS"), read: bytesRead(pid) }
    const answers = await Promise.all(Array.from({ length: 20 }, send(BODY)))
    const after = { peak: kib(pid, "VmHWM"), read: bytesRead(pid) }
    // 40 MB were sent; what the server read is the bodies' heads already in flight when it answered.
    assert.isBelow(after.read - before.read, 20 * 512 * 1024, `read ${after.read - before.read} bytes`)
    assert.isBelow(after.peak - before.rss, 4 * 1024, `RSS ${before.rss} kB → peak ${after.peak} kB`)
    assert.deepStrictEqual(answers.map((a) => a.status), Array.from({ length: 20 }, () => 413))
    assert.strictEqual(jsonOf(answers[0] ?? { status: 0, headers: {}, body: "{}" })["code"], "PAYLOAD_TOO_LARGE")
  }, 60_000)
})
