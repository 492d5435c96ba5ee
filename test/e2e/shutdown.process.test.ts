/**
 * Clean shutdown of a real `sesame serve` process (issue 13, item 5): SIGTERM drains (readyz 503 on
 * an open connection, new connections refused, the in-flight request answered, exit 0); a second
 * signal ends it at once; a signal during startup ends it promptly; and `npm start` stopped by a
 * signal to its whole process group stops cleanly, leaving no process behind.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { connect, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  cli,
  eventually,
  freePort,
  parseTenant,
  sleep,
  type SmtpSink,
  spawnServer,
  startServer,
  startSmtpSink,
  testSecret
} from "../support/Processes.ts"
import { alive } from "../support/Remote.ts"

interface Answer {
  readonly status: number
  readonly connection: string | undefined
  readonly body: string
}

const call = (url: string, options: { method?: string; agent?: Agent; key?: string; body?: unknown } = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body)
    const req = request(url, {
      method: options.method ?? "GET",
      agent: options.agent ?? false,
      headers: {
        ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
        ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
      }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }))
    })
    req.on("error", reject)
    req.end(body)
  })

/** Whether a new TCP connection to the port is refused. */
const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })

/** Every process whose process group is `pgid` (Linux /proc). */
const groupMembers = (pgid: number): Array<number> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      // stat: pid (comm) state ppid pgrp …; comm may hold spaces, so read after the last ')'
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid
    } catch {
      return false
    }
  })

describe("SIGTERM/SIGINT on a server process", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-shutdown-"))
  let sink: SmtpSink
  let liveKey = ""

  beforeAll(async () => {
    sink = await startSmtpSink()
    // also initialises the data directory: every server below starts warm
    liveKey = parseTenant(await cli(["tenant", "create", "--name", "Shutdown", "--json"], { SESAME_DATA_DIR: dataDir })).keys.live
  }, 120_000)
  afterAll(() => sink.close())

  it("drains: readyz 503 on an open connection, new connections refused, the in-flight send answered, exit 0", async () => {
    const server = await startServer({ SESAME_DATA_DIR: dataDir, SMTP_URL: sink.url, SHUTDOWN_TIMEOUT_MS: "10000" }, { timeoutMs: 90_000 })
    try {
      // a keep-alive connection, idle when the drain begins
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      assert.strictEqual((await call(`${server.url}/healthz`, { agent })).status, 200)

      sink.hold()
      const slow = call(`${server.url}/v1/passwordless/send`, {
        method: "POST", key: liveKey, body: { email: "slow@example.com", deliver: "sync" }
      })
      await eventually("the send to reach the SMTP server", async () => sink.held().includes("slow@example.com") || undefined)

      const signalled = Date.now()
      server.signal("SIGTERM")
      await eventually("the drain to begin", async () => server.output().includes("draining") || undefined)
      const ready = await call(`${server.url}/readyz`, { agent })
      assert.strictEqual(ready.status, 503, ready.body)
      assert.strictEqual(ready.connection, "close")
      assert.isTrue(await refused(server.port), "a new connection was accepted while draining")
      assert.isUndefined(await server.exit(0), "the process ended before its in-flight request was answered")

      await sleep(500)
      sink.release()
      const sent = await slow
      assert.strictEqual(sent.status, 202, sent.body)
      assert.strictEqual((JSON.parse(sent.body) as { delivery: string }).delivery, "sent")
      const ended = await server.exit(10_000)
      assert.deepStrictEqual(ended, { code: 0, signal: null }, server.output())
      assert.isAtMost(Date.now() - signalled, 5000)
      assert.match(server.output(), /stopped in \d+ ms/)
      assert.strictEqual(sink.to("slow@example.com").length, 1)
      agent.destroy()
    } finally {
      sink.release()
      await server.stop()
    }
  }, 150_000)

  it("a second signal exits at once, without waiting for the in-flight send", async () => {
    const server = await startServer({ SESAME_DATA_DIR: dataDir, SMTP_URL: sink.url, SHUTDOWN_TIMEOUT_MS: "30000" }, { timeoutMs: 90_000 })
    try {
      sink.hold()
      const slow = call(`${server.url}/v1/passwordless/send`, {
        method: "POST", key: liveKey, body: { email: "second@example.com", deliver: "sync" }
      }).catch(() => undefined)
      await eventually("the send to reach the SMTP server", async () => sink.held().includes("second@example.com") || undefined)
      server.signal("SIGTERM")
      await eventually("the drain to begin", async () => server.output().includes("draining") || undefined)
      // a different signal at once, or the same one again after the window (npm and terminals signal twice)
      server.signal("SIGINT")
      const start = Date.now()
      const ended = await server.exit(5000)
      assert.deepStrictEqual(ended, { code: 130, signal: null }, server.output())
      assert.isAtMost(Date.now() - start, 1000, server.output())
      await slow
    } finally {
      sink.release()
      await server.stop()
    }
  }, 150_000)

  it("a signal during startup (the database not answering yet) exits promptly", async () => {
    // a PostgreSQL that accepts connections and never answers: the server is stuck starting
    const sockets: Array<Socket> = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    const address = silent.address()
    const dbPort = typeof address === "object" && address !== null ? address.port : 0
    const server = await spawnServer({ DATABASE_URL: `postgres://postgres@127.0.0.1:${dbPort}/sesame` })
    try {
      await eventually("the server to connect to its database", async () => sockets.length > 0 || undefined, 20_000, 10)
      const start = Date.now()
      server.signal("SIGTERM")
      const ended = await server.exit(10_000)
      const took = Date.now() - start
      // cut short, as if killed by the signal (it never served)
      assert.deepStrictEqual(ended, { code: 143, signal: null }, server.output())
      assert.isAtMost(took, 2000, server.output())
      assert.notInclude(server.output(), "listening")
    } finally {
      await server.stop()
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  }, 60_000)

  it("npm start, signalled as a process group: npm and the server exit 0, nothing is left behind", async () => {
    const port = await freePort()
    const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), SESAME_DATA_DIR: dataDir, SESAME_SECRET: testSecret }
    for (const name of ["DATABASE_URL", "SMTP_URL", "WORKERS", "LOG_FORMAT", "NODE_OPTIONS", "HOST", "SHUTDOWN_TIMEOUT_MS"]) delete env[name]
    // `npm start` as a shell runs it, in a process group of its own (a terminal's Ctrl-C, `kill -- -PGID`)
    const npm = spawn("npm", ["start"], { cwd: repoRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once("exit", (code, signal) => resolve({ code, signal })))
    const pgid = npm.pid ?? -1
    try {
      await eventually("npm start to listen", async () => output.includes("Sesame listening") || undefined, 90_000, 100)
      const members = groupMembers(pgid)
      assert.isAtLeast(members.length, 2, `npm and the server: ${members.join(",")}`)
      process.kill(-pgid, "SIGTERM")
      const ended = await Promise.race([exited, sleep(15_000).then(() => undefined)])
      assert.deepStrictEqual(ended, { code: 0, signal: null }, output)
      assert.match(output, /draining/)
      assert.match(output, /stopped in \d+ ms/)
      assert.notMatch(output, /exiting now/)
      await eventually("every process of the group to be gone", async () => members.some(alive) ? undefined : true, 5000)
    } finally {
      if (groupMembers(pgid).length > 0) process.kill(-pgid, "SIGKILL")
    }
  }, 150_000)
})

