/**
 * Process-level test helpers: Sesame server processes (`node src/cli.ts serve`), one-shot CLI runs,
 * and an SMTP sink that collects what Sesame really sends.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { SMTPServer } from "smtp-server"

const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
const cliPath = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))
const localNode = fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url))
/** The project's Node 24 (the `node` devDependency); the system one may be too old to strip types. */
export const nodeBin: string = existsSync(localNode) ? localNode : process.execPath

/** One SESAME_SECRET for every process of a test: processes sharing a database must agree on it. */
export const testSecret = "multi-process-test-secret-0123456789"

/** A port nothing listens on right now (listen on 0, read it, close). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))))
    })
  })

// Variables of the developer's shell that must not leak into a child's configuration.
const inherited = ["DATABASE_URL", "SMTP_URL", "SMTP_FROM", "PORT", "HOST", "TRUST_PROXY", "PUBLIC_URL", "SESAME_DATA_DIR", "SESAME_SECRET",
  "DELIVERY_POLL_MS", "DELIVERY_RETRY_BASE_MS", "LOG_FORMAT", "NODE_OPTIONS",
  "WEBHOOKS_ALLOW_PRIVATE", "WEBHOOK_RETRY_BASE_MS", "WEBHOOK_TIMEOUT_MS",
  "METRICS_PORT", "METRICS_HOST", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "SHUTDOWN_TIMEOUT_MS", "WORKERS",
  "LOG_LEVEL", "DATABASE_POOL_SIZE"]

const childEnv = (env: Readonly<Record<string, string>>): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of inherited) delete base[name]
  return { ...base, SESAME_SECRET: testSecret, ...env }
}

// A test worker that dies must not leave servers behind.
const live = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

const exited = (child: ChildProcess, timeoutMs: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      child.once("exit", () => {
        clearTimeout(timer)
        resolve(true)
      })
    })

const MAX_OUTPUT = 200_000

export interface ServerProcess {
  readonly port: number
  readonly url: string
  readonly pid: number
  /** Everything the process wrote so far (stdout and stderr interleaved), for diagnostics. */
  readonly output: () => string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  readonly stop: (graceMs?: number) => Promise<void>
  /** SIGKILL at once (a crash); resolves once the process is gone. */
  readonly kill: () => Promise<void>
  /** Sends `signal` and returns at once. */
  readonly signal: (signal: NodeJS.Signals) => void
  /** How the process ended, waiting up to `timeoutMs` (default 30 s); undefined if it is still running then. */
  readonly exit: (timeoutMs?: number) => Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined>
}

export interface StartOptions {
  /** How long to wait for `GET /readyz` → 200 (default 20 s). */
  readonly timeoutMs?: number
  /** The `sesame` script to run (default the repository's src/cli.ts), e.g. an installed package's bin. */
  readonly script?: string
  /** Its working directory (default the repository). */
  readonly cwd?: string
}

/** Spawns `sesame serve` with `env` (PORT is chosen unless given) without waiting for it to be ready. */
export const spawnServer = async (env: Readonly<Record<string, string>>, options: StartOptions = {}): Promise<ServerProcess> => {
  const port = env["PORT"] !== undefined ? Number(env["PORT"]) : await freePort()
  const child = spawn(nodeBin, [options.script ?? cliPath, "serve"], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv({ ...env, PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"]
  })
  live.add(child)
  child.once("exit", () => live.delete(child))
  let output = ""
  const collect = (chunk: Buffer) => {
    if (output.length < MAX_OUTPUT) output += chunk.toString("utf8")
  }
  child.stdout?.on("data", collect)
  child.stderr?.on("data", collect)

  // A server on one address is reached there; one on every interface (or the default) on loopback.
  const host = env["HOST"] === undefined || env["HOST"] === "0.0.0.0" || env["HOST"] === "::" ? "127.0.0.1" : env["HOST"]
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGTERM")
    if (await exited(child, graceMs)) return
    child.kill("SIGKILL")
    await exited(child, 5000)
  }
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGKILL")
    await exited(child, 5000)
  }
  const exit = async (timeoutMs = 30_000) =>
    (timeoutMs <= 0 ? child.exitCode !== null || child.signalCode !== null : await exited(child, timeoutMs))
      ? { code: child.exitCode, signal: child.signalCode }
      : undefined
  return { port, url, pid: child.pid ?? -1, output: () => output, stop, kill, signal: (signal) => void child.kill(signal), exit }
}

/**
 * Starts `sesame serve` with `env` (PORT is chosen unless given) and waits until `/readyz` is 200.
 * Rejects with the process output when it exits early or is not ready in time.
 */
export const startServer = async (env: Readonly<Record<string, string>>, options: StartOptions = {}): Promise<ServerProcess> => {
  const server = await spawnServer(env, options)
  const { url, output, stop } = server
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  while (Date.now() < deadline) {
    const ended = await server.exit(0)
    if (ended !== undefined) throw new Error(`sesame serve exited early (${ended.code ?? ended.signal}):\n${output()}`)
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.body?.cancel().then(() => response.status === 200) ?? response.status === 200,
      () => false
    )
    if (ready) return server
    await sleep(100)
  }
  await stop(1000)
  throw new Error(`sesame serve was not ready within ${options.timeoutMs ?? 20_000} ms:\n${output()}`)
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `sesame ARGS…` to completion (killed after `timeoutMs`, default 30 s). */
export const runCli = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  timeoutMs = 30_000
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [cliPath, ...args], { cwd: repoRoot, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] })
    live.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (error) => {
      clearTimeout(timer)
      live.delete(child)
      reject(error)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  })

/** Runs `sesame ARGS…` and returns its stdout; rejects (with both outputs) unless it exits 0. */
export const cli = async (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>): Promise<string> => {
  const result = await runCli(args, env)
  if (result.code !== 0) {
    throw new Error(`sesame ${args.join(" ")} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

export interface CreatedTenant {
  readonly tenant: { readonly id: string; readonly name: string }
  readonly keys: { readonly live: string; readonly test: string }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Parses `sesame tenant create --json` output: the one line that is JSON (lenient about log lines). */
export const parseTenant = (stdout: string): CreatedTenant => {
  const line = stdout.split("\n").find((l) => l.startsWith("{"))
  const parsed: unknown = JSON.parse(line ?? "null")
  if (
    isRecord(parsed) && isRecord(parsed["tenant"]) && isRecord(parsed["keys"]) &&
    typeof parsed["tenant"]["id"] === "string" && typeof parsed["tenant"]["name"] === "string" &&
    typeof parsed["keys"]["live"] === "string" && typeof parsed["keys"]["test"] === "string"
  ) {
    return {
      tenant: { id: parsed["tenant"]["id"], name: parsed["tenant"]["name"] },
      keys: { live: parsed["keys"]["live"], test: parsed["keys"]["test"] }
    }
  }
  throw new Error(`not a tenant create --json output:\n${stdout}`)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` every `intervalMs` until it returns a value other than `undefined`; rejects after `timeoutMs`. */
export const eventually = async <A>(
  what: string,
  probe: () => Promise<A | undefined>,
  timeoutMs = 10_000,
  intervalMs = 50
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP sink
// ---------------------------------------------------------------------------------------------

export interface ReceivedMail {
  readonly to: ReadonlyArray<string>
  readonly raw: string
  readonly receivedAt: number
}

export interface SmtpSink {
  readonly port: number
  readonly url: string
  readonly messages: ReadonlyArray<ReceivedMail>
  /** Messages to `address` (case-insensitive) received so far. */
  readonly to: (address: string) => ReadonlyArray<ReceivedMail>
  /** The first message to `address`, waiting up to `timeoutMs` (default 10 s). */
  readonly waitFor: (address: string, timeoutMs?: number) => Promise<ReceivedMail>
  /**
   * From now on the end of each message's DATA is not answered (the sender waits) until `release`;
   * a held message whose connection closes first never arrived (an SMTP server accepts a message
   * only with its 250 reply).
   */
  readonly hold: () => void
  /** Accepts every held message and stops holding. */
  readonly release: () => void
  /** Recipients of the messages held right now. */
  readonly held: () => ReadonlyArray<string>
  /** Stops listening and drops open connections. */
  readonly close: () => Promise<void>
}

export interface SmtpSinkOptions {
  /** Answer each message's DATA this many milliseconds late (a slow mail server). */
  readonly delayMs?: number
  /** Accept exactly this user and password (AUTH PLAIN/LOGIN over the plain connection); none → no auth. */
  readonly auth?: { readonly user: string; readonly pass: string }
  /** Recipients refused with a 550 that quotes the address, as real servers do. */
  readonly refuse?: ReadonlyArray<string>
}

/** A local SMTP server (no TLS) on 127.0.0.1:`port` (0: any free port) collecting every message. */
export const startSmtpSink = (port = 0, options: SmtpSinkOptions = {}): Promise<SmtpSink> =>
  new Promise((resolve, reject) => {
    const { auth, refuse = [] } = options
    const messages: Array<ReceivedMail> = []
    let holding = false
    const pending = new Map<string, Array<{ readonly to: ReadonlyArray<string>; readonly accept: () => void }>>()
    const server = new SMTPServer({
      authOptional: auth === undefined,
      ...(auth === undefined ? {} : {
        allowInsecureAuth: true,
        onAuth(credentials, _session, callback) {
          if (credentials.username === auth.user && credentials.password === auth.pass) callback(null, { user: auth.user })
          else callback(new Error("invalid credentials"))
        }
      }),
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (!refuse.includes(address.address.toLowerCase())) return callback()
        callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 }))
      },
      closeTimeout: 50,
      onClose(session) {
        pending.delete(session.id)
      },
      onData(stream, session, callback) {
        const chunks: Array<Buffer> = []
        stream.on("data", (chunk: Buffer) => chunks.push(chunk))
        stream.on("end", () => {
          const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase())
          const accept = () => {
            messages.push({ to, raw: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now() })
            callback()
          }
          if (holding) {
            pending.set(session.id, [...(pending.get(session.id) ?? []), { to, accept }])
          } else if (options.delayMs !== undefined) {
            setTimeout(accept, options.delayMs)
          } else {
            accept()
          }
        })
      }
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      server.on("error", () => undefined)
      const address = server.server.address()
      const bound = typeof address === "object" && address !== null ? address.port : port
      const to = (address: string) => messages.filter((m) => m.to.includes(address.toLowerCase()))
      resolve({
        port: bound,
        url: `smtp://127.0.0.1:${bound}`,
        messages,
        to,
        waitFor: (address, timeoutMs = 10_000) =>
          eventually(`an email to ${address}`, () => Promise.resolve(to(address)[0]), timeoutMs),
        hold: () => void (holding = true),
        release: () => {
          holding = false
          const all = [...pending.values()].flat()
          pending.clear()
          for (const message of all) message.accept()
        },
        held: () => [...pending.values()].flat().flatMap((m) => m.to),
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    })
  })

// ---------------------------------------------------------------------------------------------
// Minimal MIME reading (what nodemailer produces: multipart/alternative, 7bit / QP / base64 parts)
// ---------------------------------------------------------------------------------------------

const decodeQuotedPrintable = (body: string): string => {
  const soft = body.replace(/=\r?\n/g, "")
  const bytes: Array<number> = []
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3)
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      for (const byte of Buffer.from(soft[i] ?? "", "utf8")) bytes.push(byte)
    }
  }
  return Buffer.from(bytes).toString("utf8")
}

const splitHead = (part: string): { readonly headers: string; readonly body: string } => {
  const match = /\r?\n\r?\n/.exec(part)
  return match === null
    ? { headers: part, body: "" }
    : { headers: part.slice(0, match.index), body: part.slice(match.index + match[0].length) }
}

/** The header block of the message (before the first blank line), unfolded. */
export const headersOf = (raw: string): string => splitHead(raw).headers.replace(/\r?\n[ \t]+/g, " ")

/** The decoded body of the first part with the given content type (`text/plain`, `text/html`). */
export const partOf = (raw: string, contentType: string): string | undefined => {
  const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/gi)].map((m) => m[1] ?? "").filter((b) => b !== "")
  const escaped = boundaries.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
  const parts = escaped.length === 0 ? [raw] : raw.split(new RegExp(`\\r?\\n?--(?:${escaped.join("|")})(?:--)?[ \\t]*\\r?\\n`))
  for (const part of parts) {
    const { headers, body } = splitHead(part)
    const unfolded = headers.replace(/\r?\n[ \t]+/g, " ")
    if (!new RegExp(`^content-type:\\s*${contentType.replace("/", "\\/")}\\b`, "im").test(unfolded)) continue
    const encoding = /^content-transfer-encoding:\s*([\w-]+)/im.exec(unfolded)?.[1]?.toLowerCase()
    if (encoding === "quoted-printable") return decodeQuotedPrintable(body)
    if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8")
    return body
  }
  return undefined
}

/** The one-time code in a Sesame email's text part ("Your code: 123456"). */
export const codeIn = (raw: string): string | undefined => /Your code: (\d{4,8})\b/.exec(partOf(raw, "text/plain") ?? "")?.[1]

/** The link token in a Sesame email's text part: `…?link_token=…` (direct) or `…/l/{token}` (hosted). */
export const linkTokenIn = (raw: string): string | undefined => {
  const text = partOf(raw, "text/plain") ?? ""
  return /[?&]link_token=([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? /\/l\/([A-Za-z0-9_-]{20,})/.exec(text)?.[1]
}
