/**
 * `npm run bench` — DESIGN.md "Performance budgets" and issue 11: Sesame, the floor and the peer in one run.
 *
 * 1. creates a fresh PostgreSQL database, starts Sesame as `npm start` does on a free port, waits for /readyz
 *    (startup-to-ready, RSS at ready), creates a tenant with the CLI;
 * 2. for each connection count (BENCH_CONNECTIONS, 10 and 50 by default):
 *    send: autocannon against the server's send endpoint, a distinct email per request;
 *    verify: pre-creates N sends with plain concurrent fetches keeping their codes, ANALYZE, then autocannon
 *    verifies each once (stops when the list is used up or after BENCH_SECONDS);
 * 3. restarts Sesame once on the now-migrated database (what a deploy costs);
 * 4. the floor (bench/floor.ts: node:http + pg, the core SQL only) on the same database, same phases;
 * 5. the peer (bench/peer/server.mjs: Better Auth 1.x with its email-OTP plugin on pg, its own package.json and
 *    lock file; installed with `npm ci --prefix bench/peer` when missing or not the locked version) on a database
 *    of its own, same phases: send = POST /api/auth/email-otp/send-verification-otp {email, type: "sign-in"},
 *    verify = POST /api/auth/sign-in/email-otp {email, otp} (creates the user and a session). Its mail is a
 *    no-op; pre-created verifies use @otp.bench.test addresses, whose OTP the peer keeps in memory for the
 *    bench to read back (GET /bench/otp?email=…). See its header for the options that matter for fairness;
 * 6. prints markdown tables: per server, phase and connection count req/s, p50/p99, non-2xx, errors, RSS and
 *    peak RSS (VmHWM), CPU per request (server and PostgreSQL backends: robust on a shared machine where req/s
 *    drifts); per server startup-to-ready and RSS at ready; the ratios Sesame/floor and Sesame/peer for req/s,
 *    CPU per request and p99. req/s runs to the last response (autocannon's own duration ends on a whole second);
 * 7. always stops the servers and drops the databases.
 *
 * All servers run on the same Node (this process's, the project's pinned one). Servers, PostgreSQL and the load
 * generator share the machine: figures are for comparing in one run.
 *
 * env:
 *   BENCH_SECONDS          measured seconds per phase (10)
 *   BENCH_CONNECTIONS      autocannon connections, a comma-separated list run in turn ("10,50")
 *   BENCH_VERIFY_N         at most this many verifies pre-created per verify phase (20000); fewer when 3 × the
 *                          send phase's rate × BENCH_SECONDS is less (pre-creating is slow on a slow server)
 *   BENCH_WARMUP_SECONDS   unmeasured warm-up per phase (2; 0 turns it off)
 *   BENCH_PG_ADMIN_URL     where to CREATE/DROP the databases (postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_SKIP_FLOOR=1     no floor
 *   BENCH_SKIP_PEER=1      no peer (Better Auth)
 *   BENCH_WORKERS=N        also run Sesame with WORKERS=N (node:cluster) after the others, as server "sesame ×N"
 *                          (CPU and RSS summed over its processes; not in the ratio table, which is one process each)
 *   BENCH_PROCESSES=N      also run N separate `sesame serve` processes (one PUBLIC_URL, one database) behind the
 *                          round-robin proxy of bench/proxy.ts (test/support/Proxy.ts, a process of its own), as
 *                          server "sesame N procs": CPU and RSS summed over the N Sesame processes; the proxy's CPU
 *                          per request is shown apart (proxy CPU ms/req) and not counted as Sesame's
 *   BENCH_PEER_RATE_LIMIT  memory (default: Better Auth's limiter on, in its in-memory store, the bench paths raised
 *                          to 1,000,000/min) | off (its limiter disabled)
 *   BENCH_RESULTS=1        append the report (date, commit, machine, tables) to bench/RESULTS.md
 *   BENCH_CPU_PROF=DIR     run the Sesame server with --cpu-prof into DIR (bench/profile-top.ts summarises it)
 *   BENCH_SERVER_FLAGS="…" extra node flags for the measured Sesame server, e.g. --heapsnapshot-signal=SIGUSR2
 *   BENCH_HEAP_SNAPSHOT=1  with --heapsnapshot-signal=SIGUSR2 in BENCH_SERVER_FLAGS: a snapshot after each phase
 *   BENCH_SERVER_LOG=FILE  append everything the Sesame server prints to FILE (e.g. with --trace-gc)
 *   BENCH_JSON=FILE        also write the raw figures as JSON
 *   BENCH_DB_SETTINGS=a=b,c=d  ALTER DATABASE … SET for the bench databases, e.g. synchronous_commit=off to take the
 *                          disk's fsync latency out and see the CPU-bound figures (default: the server's settings)
 *   BENCH_ANALYZE=0        skip the ANALYZE before each verify phase (autovacuum may be off on the bench server)
 *   BENCH_KEEP_DB=1        do not drop the databases at the end (for EXPLAIN); the servers are still stopped
 *   BENCH_WAIT_QUIET=N     first wait up to N s for the 1-minute load average to drop below 0.5 (the machine is shared)
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { appendFileSync, createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { cpus, loadavg, totalmem } from "node:os"
import { promisify } from "node:util"
import autocannon from "autocannon"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const env = process.env
const SECONDS = Number(env.BENCH_SECONDS ?? 10)
const CONNECTIONS = (env.BENCH_CONNECTIONS ?? "10,50").split(",").map((c) => Number(c.trim()))
if (CONNECTIONS.length === 0 || CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1)) {
  throw new Error(`BENCH_CONNECTIONS: expected a comma-separated list of connection counts, got ${env.BENCH_CONNECTIONS}`)
}
const VERIFY_N = Number(env.BENCH_VERIFY_N ?? 20_000)
const WARMUP_SECONDS = Number(env.BENCH_WARMUP_SECONDS ?? 2)
const ADMIN_URL = env.BENCH_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const CPU_PROF = env.BENCH_CPU_PROF
/**
 * ANALYZE the database before each verify phase (default on): what autovacuum's auto-analyze does on a
 * production PostgreSQL. Without statistics the planner may pick auth_requests_identifier over the primary
 * key for the verify UPDATE and scan all of a tenant's rows (see bench/RESULTS.md). BENCH_ANALYZE=0 skips it.
 */
const ANALYZE = env.BENCH_ANALYZE !== "0"
/**
 * Sesame is started as `npm start` starts it: the node flags and arguments of package.json's "start"
 * (after its `exec node`, which only makes the shell hand its process over to node).
 */
const npmStart = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } })
  .scripts.start.split(" ").filter((arg) => arg !== "").filter((arg, i) => !(i === 0 && arg === "exec")).slice(1)
const FLOOR_KEY = `sk_test_${randomBytes(32).toString("base64url")}`
const PEER_DIR = join(root, "bench/peer")

// ---------------------------------------------------------------------------------------------- cleanup

const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined
const cleanup = () =>
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch (error) {
        console.error("cleanup:", error)
      }
    }
  })()
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

// --------------------------------------------------------------------------------------------- database

let pgModule: typeof import("pg").default | undefined
const loadPg = async () => {
  if (pgModule !== undefined) return pgModule
  if (!existsSync(join(root, "node_modules/pg/package.json"))) return undefined
  pgModule = (await import("pg")).default
  return pgModule
}

const adminQuery = async (statement: string) => {
  const pg = await loadPg()
  if (pg !== undefined) {
    const client = new pg.Client({ connectionString: ADMIN_URL })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
    return
  }
  await promisify(execFile)("psql", [ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", statement])
}

/** One value from the bench database (psql when `pg` is missing). */
const adminQueryValue = async (statement: string, db: string): Promise<string> => {
  const pg = await loadPg()
  if (pg !== undefined) {
    const client = new pg.Client({ connectionString: urlFor(db) })
    await client.connect()
    try {
      const { rows } = await client.query<Record<string, unknown>>(statement)
      return String(Object.values(rows[0] ?? {})[0])
    } finally {
      await client.end()
    }
  }
  const { stdout } = await promisify(execFile)("psql", [urlFor(db), "-v", "ON_ERROR_STOP=1", "-tAc", statement])
  return stdout.trim()
}

const urlFor = (db: string) => {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${db}`
  return url.toString()
}

// ---------------------------------------------------------------------------------------------- servers

interface Server {
  readonly name: string
  readonly db: string
  readonly child: ChildProcess
  readonly base: string
  readonly startupMs: number
  readonly output: Array<string>
  /** The processes whose CPU and memory are the server's, when not `child` and its descendants (behind a proxy). */
  readonly members?: ReadonlyArray<Server>
}

const freePort = () =>
  new Promise<number>((ok, fail) => {
    const probe = createServer()
    probe.once("error", fail)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => typeof address === "object" && address !== null ? ok(address.port) : fail(new Error("no port")))
    })
  })

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

/** `pid` and its descendants (a WORKERS=n server is a primary and its workers). */
const treeOf = (pid: number | undefined): Array<number> => {
  if (pid === undefined) return []
  let children: Array<number> = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((c) => c !== "").map(Number)
  } catch {
    children = []
  }
  return [pid, ...children.flatMap(treeOf)]
}

const rssOne = (pid: number) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? NaN)
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 }
  } catch {
    return { rssMb: NaN, peakMb: NaN }
  }
}

/** Resident memory of the server's process tree (now and the sum of each process's high-water mark). */
const rssOf = (pid: number | undefined) =>
  treeOf(pid).map(rssOne).reduce((a, b) => ({ rssMb: a.rssMb + b.rssMb, peakMb: a.peakMb + b.peakMb }), { rssMb: 0, peakMb: 0 })

/** CPU time (user + system) one process has used so far, in ms (clock ticks of 10 ms). */
const cpuMsOne = (pid: number | undefined) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

/** CPU ms so far of the server's process tree (a WORKERS=n server: its primary and workers). */
const cpuMsOf = (pid: number | undefined) => treeOf(pid).reduce((sum, p) => sum + cpuMsOne(p), 0)

/** CPU ms so far of each backend connected to `db` (PostgreSQL runs on this machine). */
const backendCpu = async (db: string) => {
  const pids = await adminQueryValue(`SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, db)
  return new Map(pids.split(",").filter((p) => /^\d+$/.test(p)).map((p) => [Number(p), cpuMsOne(Number(p))] as const))
}

/** The server's own process trees: its members' behind a proxy, else its child's. */
const pidsOf = (server: Server): Array<number | undefined> =>
  server.members === undefined ? [server.child.pid] : server.members.map((m) => m.child.pid)

const serverCpuMs = (server: Server) => pidsOf(server).reduce<number>((sum, pid) => sum + cpuMsOf(pid), 0)

const serverRss = (server: Server) =>
  pidsOf(server).map(rssOf).reduce((a, b) => ({ rssMb: a.rssMb + b.rssMb, peakMb: a.peakMb + b.peakMb }), { rssMb: 0, peakMb: 0 })

/** Spawns `node ARGS…` on PORT (extraEnv's, else a free one) and waits for /readyz. */
const start = async (name: string, db: string, args: ReadonlyArray<string>, extraEnv: Record<string, string>): Promise<Server> => {
  const port = extraEnv["PORT"] !== undefined ? Number(extraEnv["PORT"]) : await freePort()
  const base = `http://127.0.0.1:${port}`
  const output: Array<string> = []
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, ...extraEnv, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const log = env.BENCH_SERVER_LOG !== undefined && name === "sesame" ? createWriteStream(env.BENCH_SERVER_LOG, { flags: "a" }) : undefined
  const keep = (chunk: Buffer) => {
    log?.write(chunk)
    output.push(...chunk.toString("utf8").split("\n").filter((line) => line !== ""))
    if (output.length > 200) output.splice(0, output.length - 200)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  let exited: string | undefined
  child.once("exit", (code, signal) => {
    exited = `exited (${signal ?? code})`
    if (!stopping.has(child)) {
      console.error(`\n${name} (pid ${child.pid}) ${exited} unexpectedly; its last output:\n  ${output.slice(-40).join("\n  ")}`)
    }
  })
  cleanups.push(() => stop({ name, db, child, base, startupMs: 0, output }))
  for (;;) {
    if (exited !== undefined) throw new Error(`${name} ${exited} before ready:\n${output.join("\n")}`)
    if (performance.now() - t0 > 60_000) throw new Error(`${name} not ready after 60 s:\n${output.join("\n")}`)
    try {
      // a deadline on each poll: a server that leaves one request unanswered must not stall the run
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    await sleep(10)
  }
  return { name, db, child, base, startupMs: performance.now() - t0, output }
}

const stopping = new WeakSet<ChildProcess>()

/** SIGINT (graceful: lets --cpu-prof write its profile), SIGKILL after 15 s. */
const stop = async (server: Server) => {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()))
  stopping.add(child)
  child.kill("SIGINT")
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
  await exited
  clearTimeout(timer)
}

// --------------------------------------------------------------------------------------------- load

interface Phase {
  readonly server: string
  readonly phase: string
  readonly connections: number
  readonly seconds: number
  readonly requests: number
  readonly ok: number
  readonly reqPerSec: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly non2xx: number
  readonly errors: number
  readonly statusCodes: Record<string, number>
  readonly rssMb: number
  readonly peakMb: number
  /** Server CPU (user + system) per request: robust on a shared machine, unlike req/s. */
  readonly cpuMsPerReq: number
  /** CPU of the database's backends (connections open during the phase) per request. */
  readonly pgCpuMsPerReq: number
  /** Behind a proxy (BENCH_PROCESSES): the proxy process's CPU per request, not in cpuMsPerReq. */
  readonly proxyCpuMsPerReq?: number
  readonly sample?: string
}

/** A pre-created send the verify phase consumes once: Sesame and the floor verify by auth request id, the peer by email. */
interface Verifiable {
  readonly id: string
  readonly code: string
}

/** How the bench speaks to one server: its two endpoints, and how it pre-creates what verify consumes. */
interface Protocol {
  readonly sendPath: string
  readonly verifyPath: string
  readonly headers: Record<string, string>
  readonly sendBody: (email: string) => string
  /** Domain of the pre-created verifies' addresses (the peer keeps only those OTPs). */
  readonly precreateDomain: string
  /** One send whose code the bench keeps, or why it failed. */
  readonly precreate: (server: Server, email: string) => Promise<Verifiable | string>
  /** `undefined` past the end of the list (autocannon asked for more): a verify that must fail (non-2xx). */
  readonly verifyBody: (item: Verifiable | undefined) => string
}

const headersFor = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" })

/** Sesame and the floor: Sesame's HTTP contract (a test key's send answers the code). */
const sesameProtocol = (key: string): Protocol => ({
  sendPath: "/v1/passwordless/send",
  verifyPath: "/v1/passwordless/verify",
  headers: headersFor(key),
  sendBody: (email) => JSON.stringify({ email }),
  precreateDomain: "bench.test",
  precreate: async (server, email) => {
    const res = await fetch(`${server.base}/v1/passwordless/send`, { method: "POST", headers: headersFor(key), body: JSON.stringify({ email }) })
    const body = await res.json() as { authRequestId?: unknown; code?: unknown }
    return res.status === 202 && typeof body.authRequestId === "string" && typeof body.code === "string"
      ? { id: body.authRequestId, code: body.code }
      : `${res.status} ${JSON.stringify(body).slice(0, 300)}`
  },
  verifyBody: (item) => JSON.stringify({ authRequestId: item?.id ?? "ar_list_exhausted", code: item?.code ?? "000000" })
})

const PEER_SEND = "/api/auth/email-otp/send-verification-otp"
/**
 * The peer (bench/peer/server.mjs): Better Auth's email-OTP sign-in, no API key. Every request carries the
 * peer's own origin, as a browser on the app's page would: Node's fetch sends `Sec-Fetch-Mode`, on which Better
 * Auth's CSRF check then requires a trusted Origin (autocannon sends no such header, but is treated alike).
 */
const peerProtocol = (origin: string): Protocol => {
  const headers = { "content-type": "application/json", origin }
  return {
    sendPath: PEER_SEND,
    verifyPath: "/api/auth/sign-in/email-otp",
    headers,
    sendBody: (email) => JSON.stringify({ email, type: "sign-in" }),
    precreateDomain: "otp.bench.test",
    precreate: async (server, email) => {
      const sent = await fetch(`${server.base}${PEER_SEND}`, { method: "POST", headers, body: JSON.stringify({ email, type: "sign-in" }) })
      const sentBody = await sent.text()
      if (sent.status !== 200) return `send ${sent.status} ${sentBody.slice(0, 300)}`
      const res = await fetch(`${server.base}/bench/otp?email=${encodeURIComponent(email)}`)
      const body = await res.json() as { otp?: unknown }
      return res.status === 200 && typeof body.otp === "string"
        ? { id: email, code: body.otp }
        : `GET /bench/otp ${res.status} ${JSON.stringify(body).slice(0, 300)}`
    },
    verifyBody: (item) => JSON.stringify({ email: item?.id ?? "list.exhausted@otp.bench.test", otp: item?.code ?? "000000" })
  }
}

/**
 * autocannon with a per-request body; stops at `amount` requests or after `seconds`, whichever comes first.
 * `elapsedS` runs from the start to the last response: autocannon's own `duration` ends on its next one-second
 * sample, which understates req/s when a phase ends on `amount` (up to 1 s of idle time counted).
 */
const cannon = async (
  server: Server, path: string, headers: Record<string, string>, bodyOf: (i: number) => string,
  options: { readonly connections: number; readonly seconds: number; readonly amount?: number }
) => {
  let i = 0
  let sample: string | undefined
  let lastResponse = 0
  const t0 = performance.now()
  const instance = autocannon({
    url: server.base,
    connections: options.connections,
    timeout: 10,
    ...(options.amount === undefined ? { duration: options.seconds } : { amount: options.amount }),
    requests: [{
      method: "POST",
      path,
      headers,
      // autocannon stops with an error if setupRequest returns nothing, so bodyOf always answers.
      setupRequest: (request) => ({ ...request, body: bodyOf(i++) }),
      onResponse: (status, body) => {
        lastResponse = performance.now()
        if ((status < 200 || status > 299) && sample === undefined) sample = `${status} ${body.slice(0, 300)}`
      }
    }]
  })
  const timer = options.amount === undefined ? undefined : setTimeout(() => instance.stop(), options.seconds * 1000)
  const result = await instance
  clearTimeout(timer)
  return { result, sample, elapsedS: lastResponse > t0 ? (lastResponse - t0) / 1000 : result.duration }
}

const measure = async (
  server: Server, phase: string, path: string, headers: Record<string, string>, bodyOf: (i: number) => string,
  options: { readonly connections: number; readonly seconds: number; readonly amount?: number }
): Promise<Phase> => {
  process.stderr.write(`  ${server.name} ${phase} c${options.connections}: ` +
    `${options.amount === undefined ? `${options.seconds} s` : `${options.amount} requests (≤ ${options.seconds} s)`} … `)
  const cpu0 = serverCpuMs(server)
  const proxyCpu0 = server.members === undefined ? 0 : cpuMsOf(server.child.pid)
  const backends0 = await backendCpu(server.db)
  const { result, sample, elapsedS } = await cannon(server, path, headers, bodyOf, options)
  const cpuMs = serverCpuMs(server) - cpu0
  const proxyCpuMs = server.members === undefined ? undefined : cpuMsOf(server.child.pid) - proxyCpu0
  const backends1 = await backendCpu(server.db)
  let pgCpuMs = 0
  for (const [pid, ms] of backends1) {
    const before = backends0.get(pid) ?? 0 // a connection opened during the phase: all of its CPU counts
    if (Number.isFinite(ms) && Number.isFinite(before)) pgCpuMs += ms - before
  }
  const requests = result.requests.total
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]))
  const row: Phase = {
    server: server.name,
    phase,
    connections: options.connections,
    seconds: elapsedS,
    requests,
    ok: result["2xx"],
    reqPerSec: requests / elapsedS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
    ...serverRss(server),
    cpuMsPerReq: cpuMs / requests,
    pgCpuMsPerReq: pgCpuMs / requests,
    ...(proxyCpuMs === undefined ? {} : { proxyCpuMsPerReq: proxyCpuMs / requests }),
    ...(sample === undefined ? {} : { sample })
  }
  if (env.BENCH_HEAP_SNAPSHOT === "1" && server.name === "sesame") {
    server.child.kill("SIGUSR2")
    await sleep(5_000)
  }
  process.stderr.write(`${row.reqPerSec.toFixed(0)} req/s, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}, ` +
    `CPU ms/req: server ${row.cpuMsPerReq.toFixed(2)}, PostgreSQL ${row.pgCpuMsPerReq.toFixed(2)}` +
    `${row.proxyCpuMsPerReq === undefined ? "" : `, proxy ${row.proxyCpuMsPerReq.toFixed(2)}`}\n`)
  if (sample !== undefined) process.stderr.write(`    first non-2xx: ${sample}\n`)
  return row
}

/**
 * The per-key limit (API.md: 6000 requests/minute by default) would cap a benchmark at 100 req/s, so the
 * bench key gets the maximum (1,000,000/minute). Every limit is still checked on every request; emails are
 * all distinct so the per-identifier limits never trip. PATCH /v1/tenant when the server has it, else SQL.
 */
const KEY_LIMIT = 1_000_000
const raiseKeyLimit = async (server: Server, key: string, tenantId: string, db: string) => {
  const res = await fetch(`${server.base}/v1/tenant`, {
    method: "PATCH",
    headers: headersFor(key),
    body: JSON.stringify({ settings: { limits: { requestsPerKeyMinute: KEY_LIMIT } } })
  })
  const body = await res.text()
  if (res.ok) return `requestsPerKeyMinute ${KEY_LIMIT} via PATCH /v1/tenant`
  await adminQueryValue(`UPDATE tenants SET settings = jsonb_set(settings, '{limits}',
    COALESCE(settings->'limits', '{}'::jsonb) || '{"requestsPerKeyMinute": ${KEY_LIMIT}}'::jsonb)
    WHERE id = '${tenantId.replace(/'/g, "''")}' RETURNING id`, db)
  await sleep(1_100) // the tenant cache lives one second
  return `requestsPerKeyMinute ${KEY_LIMIT} via SQL (PATCH /v1/tenant answered ${res.status} ${body.slice(0, 120)})`
}

let emails = 0
const nextEmail = (tag: string, domain = "bench.test") => `user${emails++}.${tag}@${domain}`

/** Plain concurrent fetches (not measured) that collect what the verify phase consumes. */
const precreate = async (server: Server, protocol: Protocol, n: number, tag: string, connections: number) => {
  const t0 = performance.now()
  const out: Array<Verifiable> = []
  let failures = 0
  let lastFailure = ""
  let issued = 0
  const worker = async () => {
    while (issued < n) {
      issued++
      const made = await protocol.precreate(server, nextEmail(tag, protocol.precreateDomain))
      if (typeof made !== "string") out.push(made)
      else {
        failures++
        lastFailure = made
        if (failures > 100) throw new Error(`${server.name}: pre-creating verifies keeps failing: ${lastFailure}`)
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  process.stderr.write(`  ${server.name}: pre-created ${out.length} verifies in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
    `${failures > 0 ? ` (${failures} failed, last: ${lastFailure})` : ""}\n`)
  return out
}

/** Each pre-created send once. */
const verifyBodies = (protocol: Protocol, list: ReadonlyArray<Verifiable>) => (i: number) => protocol.verifyBody(list[i])

/** At each connection count: warm-up send, send, pre-create, warm-up verify, verify. */
const phases = async (server: Server, protocol: Protocol, tag: string): Promise<Array<Phase>> => {
  const rows: Array<Phase> = []
  const sendBody = () => protocol.sendBody(nextEmail(tag))
  for (const connections of CONNECTIONS) {
    if (WARMUP_SECONDS > 0) await cannon(server, protocol.sendPath, protocol.headers, sendBody, { connections, seconds: WARMUP_SECONDS })
    const send = await measure(server, "send", protocol.sendPath, protocol.headers, sendBody, { connections, seconds: SECONDS })
    rows.push(send)
    // No more than the verify phase can plausibly use: 3× what send managed in the same time, at most BENCH_VERIFY_N.
    const verifyN = Math.min(VERIFY_N, Math.max(2_000, Math.ceil(send.reqPerSec * SECONDS * 3)))
    const warmupN = WARMUP_SECONDS > 0 ? Math.min(5_000, Math.max(connections, Math.round(verifyN / 10))) : 0
    const list = await precreate(server, protocol, verifyN + warmupN, tag, connections)
    if (ANALYZE) await adminQueryValue("ANALYZE", server.db)
    if (warmupN > 0) {
      await cannon(server, protocol.verifyPath, protocol.headers, verifyBodies(protocol, list.slice(0, warmupN)),
        { connections, seconds: WARMUP_SECONDS * 5, amount: warmupN })
    }
    const measured = list.slice(warmupN)
    rows.push(await measure(server, "verify", protocol.verifyPath, protocol.headers, verifyBodies(protocol, measured),
      { connections, seconds: SECONDS, amount: measured.length }))
  }
  return rows
}

// ---------------------------------------------------------------------------------------------- report

const fmt = (n: number, digits = 0) => Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a"

/** A markdown table; `align` has one letter per column, l or r. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, align: string) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const left = (i: number) => align[i] !== "r"
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join(" | ")} |`
  return [line(header), `|${widths.map((w, i) => left(i) ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`).join("|")}|`, ...rows.map(line)].join("\n")
}

/** Startup and memory of one server. */
interface ServerSummary {
  readonly server: string
  readonly version: string
  readonly startupMs: number
  readonly readyRssMb: number
  /** VmHWM when the server stopped: its peak over startup and every phase. */
  readonly peakMb: number
  readonly note: string
}

const WORKERS = Number(env.BENCH_WORKERS ?? 0)
const PROCESSES = Number(env.BENCH_PROCESSES ?? 0)
const SERVER_ORDER = ["sesame", "floor", "peer", `sesame ×${WORKERS}`, `sesame ${PROCESSES} procs`]
const PHASE_ORDER = ["send", "verify"]

/** Sesame/other for req/s, CPU per request (server + PostgreSQL) and p99, per phase and connection count. */
const ratios = (rows: ReadonlyArray<Phase>) =>
  CONNECTIONS.flatMap((connections) =>
    PHASE_ORDER.flatMap((phase) => {
      const find = (server: string) => rows.find((r) => r.server === server && r.phase === phase && r.connections === connections)
      const s = find("sesame")
      if (s === undefined) return []
      return ["floor", "peer"].flatMap((other) => {
        const o = find(other)
        if (o === undefined) return []
        return [{
          phase, connections, other,
          reqPerSec: s.reqPerSec / o.reqPerSec,
          cpuPerReq: (s.cpuMsPerReq + s.pgCpuMsPerReq) / (o.cpuMsPerReq + o.pgCpuMsPerReq),
          p99: s.p99 / o.p99
        }]
      })
    })
  )

const report = (rows: ReadonlyArray<Phase>, servers: ReadonlyArray<ServerSummary>) => {
  const sorted = [...rows].sort((a, b) =>
    a.connections - b.connections || PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase) ||
    SERVER_ORDER.indexOf(a.server) - SERVER_ORDER.indexOf(b.server))
  const x = (n: number) => `${fmt(n, 2)}×`
  const parts = [
    table(
      ["phase", "conns", "server", "req/s", "p50 ms", "p99 ms", "max ms", "requests", "non-2xx", "errors", "RSS MB", "peak RSS MB", "CPU ms/req", "PG CPU ms/req"],
      sorted.map((r) => [r.phase, String(r.connections), r.server, fmt(r.reqPerSec), fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.requests),
        fmt(r.non2xx), fmt(r.errors), fmt(r.rssMb, 1), fmt(r.peakMb, 1), fmt(r.cpuMsPerReq, 2), fmt(r.pgCpuMsPerReq, 2)]),
      "lrlrrrrrrrrrrr"
    ),
    "",
    "RSS MB is the server's resident memory after the phase, peak RSS MB its high-water mark so far (VmHWM); CPU ms/req is the " +
    "server process's user + system CPU per request, PG CPU ms/req that of the database's PostgreSQL backends.",
    "",
    table(
      ["server", "version", "startup to ready ms", "RSS at ready MB", "peak RSS MB", "note"],
      servers.map((s) => [s.server, s.version, fmt(s.startupMs), fmt(s.readyRssMb, 1), fmt(s.peakMb, 1), s.note]),
      "llrrrl"
    )
  ]
  const r = ratios(rows)
  if (r.length > 0) {
    parts.push("", table(
      ["phase", "conns", "Sesame / …", "req/s", "CPU/req (server + PG)", "p99"],
      r.map((q) => [q.phase, String(q.connections), q.other, x(q.reqPerSec), x(q.cpuPerReq), x(q.p99)]),
      "lrlrrr"
    ), "", "Ratios are Sesame's figure over the other server's: req/s below 1× and CPU/req or p99 above 1× mean Sesame does worse.")
  }
  for (const row of sorted) {
    const odd = Object.entries(row.statusCodes).filter(([code]) => !code.startsWith("2"))
    if (odd.length > 0 || row.errors > 0) {
      parts.push("", `${row.server} ${row.phase} c${row.connections}: status codes ${JSON.stringify(row.statusCodes)}, errors ${row.errors}` +
        `${row.sample === undefined ? "" : `, first non-2xx: ${row.sample}`}`)
    }
  }
  return parts.join("\n")
}

// ------------------------------------------------------------------------------------------------- main

const load = () => loadavg().map((n) => n.toFixed(2)).join(" ")

const waitQuiet = async (maxSeconds: number) => {
  const t0 = performance.now()
  while (loadavg()[0]! >= 0.5 && performance.now() - t0 < maxSeconds * 1000) await sleep(5_000)
  process.stderr.write(`  load average ${load()} after waiting ${fmt((performance.now() - t0) / 1000)} s for a quiet machine\n`)
}

const git = async (args: ReadonlyArray<string>) => (await promisify(execFile)("git", args, { cwd: root })).stdout.trim()

/** `abc1234` or `abc1234 (dirty)`; "unknown" outside a git checkout. */
const commitOf = async () => {
  try {
    const head = await git(["rev-parse", "--short", "HEAD"])
    return (await git(["status", "--porcelain"])) === "" ? head : `${head} (dirty)`
  } catch {
    return "unknown"
  }
}

const versionIn = (file: string, dependency?: string): string | undefined => {
  if (!existsSync(file)) return undefined
  const json = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown; dependencies?: Record<string, unknown> }
  const value = dependency === undefined ? json.version : json.dependencies?.[dependency]
  return typeof value === "string" ? value : undefined
}

/** The peer's locked Better Auth, installed with `npm ci` when missing or another version; its version. */
const ensurePeer = async () => {
  const wanted = versionIn(join(PEER_DIR, "package.json"), "better-auth")
  const installed = () => versionIn(join(PEER_DIR, "node_modules/better-auth/package.json"))
  if (wanted === undefined) throw new Error("bench/peer/package.json names no better-auth version")
  if (installed() !== wanted) {
    process.stderr.write(`  installing the peer (better-auth ${wanted}): npm ci --prefix bench/peer …\n`)
    await promisify(execFile)("npm", ["ci", "--prefix", PEER_DIR, "--no-audit", "--no-fund"], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
  }
  const version = installed()
  if (version !== wanted) throw new Error(`bench/peer has better-auth ${version ?? "missing"} after npm ci, expected ${wanted}`)
  return version
}

const main = async () => {
  let peerVersion: string | undefined
  let peerNote = ""
  if (env.BENCH_SKIP_PEER === "1") peerNote = "peer skipped (BENCH_SKIP_PEER=1)"
  else {
    try {
      peerVersion = await ensurePeer()
    } catch (error) {
      peerNote = `peer skipped: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  if (env.BENCH_WAIT_QUIET !== undefined) await waitQuiet(Number(env.BENCH_WAIT_QUIET))
  const loadBefore = load()
  const date = new Date()
  const commit = await commitOf()
  const db = `sesame_bench_${randomBytes(6).toString("hex")}`
  const databaseUrl = urlFor(db)
  const pgAvailable = (await loadPg()) !== undefined
  const cpu = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}`
  console.log(`Sesame bench: ${SECONDS} s per phase, connections ${CONNECTIONS.join(", ")}, ${VERIFY_N} verifies max, ` +
    `warm-up ${WARMUP_SECONDS} s; node ${process.version}; database ${db}; commit ${commit}`)
  console.log(`${cpu}; load average at start ${loadBefore}. ` +
    "Load generator, server(s) and PostgreSQL all share this machine: compare figures within one run.")

  const dbSettings = (env.BENCH_DB_SETTINGS ?? "").split(",").filter((s) => s.trim() !== "").map((s) => s.split("=").map((p) => p.trim()))
  for (const [name, value] of dbSettings) {
    if (name === undefined || value === undefined || !/^[a-z_]+$/.test(name) || !/^[A-Za-z0-9_.]+$/.test(value)) {
      throw new Error(`BENCH_DB_SETTINGS: expected name=value pairs, got ${env.BENCH_DB_SETTINGS}`)
    }
  }
  /** A fresh database with BENCH_DB_SETTINGS, dropped at the end unless BENCH_KEEP_DB=1. */
  const createDatabase = async (name: string) => {
    await adminQuery(`CREATE DATABASE ${name}`)
    cleanups.push(() => env.BENCH_KEEP_DB === "1"
      ? Promise.resolve(console.log(`kept database ${name} (BENCH_KEEP_DB=1): drop it with psql -c 'DROP DATABASE ${name} WITH (FORCE)'`))
      : adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    for (const [setting, value] of dbSettings) await adminQuery(`ALTER DATABASE ${name} SET ${setting} = '${value}'`)
  }
  await createDatabase(db)
  const pgVersion = await adminQueryValue(`SELECT current_setting('server_version')`, db)
  const pgSettings = await adminQueryValue(`SELECT 'synchronous_commit ' || current_setting('synchronous_commit') || ', fsync ' || ` +
    `current_setting('fsync') || ', autovacuum ' || current_setting('autovacuum') || ', shared_buffers ' || current_setting('shared_buffers')`, db)
  console.log(`PostgreSQL ${pgVersion}: ${pgSettings}; ${ANALYZE ? "ANALYZE before each verify phase" : "no ANALYZE (BENCH_ANALYZE=0)"}`)

  const serverEnv = {
    DATABASE_URL: databaseUrl,
    SESAME_SECRET: randomBytes(32).toString("base64url"),
    NODE_ENV: "production",
    LOG_LEVEL: "warn"
  }
  const sesameArgs = [
    ...(CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(CPU_PROF)}`]),
    ...(env.BENCH_SERVER_FLAGS ?? "").split(" ").filter((f) => f !== ""),
    ...npmStart
  ]
  const servers: Array<ServerSummary> = []
  const sesame = await start("sesame", db, sesameArgs, serverEnv)
  const sesameReadyRss = rssOf(sesame.child.pid).rssMb
  process.stderr.write(`  sesame ready in ${fmt(sesame.startupMs)} ms (fresh database, migrations included), RSS ${fmt(sesameReadyRss, 1)} MB\n`)

  const created = await promisify(execFile)(process.execPath, ["src/cli.ts", "tenant", "create", "--name", "Bench", "--json"], {
    cwd: root, env: { ...env, ...serverEnv }
  })
  const jsonLine = created.stdout.split("\n").reverse().find((line) => line.startsWith("{"))
  if (jsonLine === undefined) throw new Error(`tenant create printed no JSON:\n${created.stdout}\n${created.stderr}`)
  const tenant = JSON.parse(jsonLine) as { tenant: { id: string }; keys: { test: string } }
  const testKey = tenant.keys.test
  console.log(`tenant limits: ${await raiseKeyLimit(sesame, testKey, tenant.tenant.id, db)}`)

  const rows: Array<Phase> = await phases(sesame, sesameProtocol(testKey), "s")
  const sesameOutput = sesame.output.slice()
  const sesamePeak = rssOf(sesame.child.pid).peakMb
  await stop(sesame)

  // A second start on the now-migrated database: what a restart/deploy costs.
  const again = await start("sesame", db, npmStart, serverEnv)
  const restartMs = again.startupMs
  await stop(again)
  servers.push({
    server: "sesame", version: commit, startupMs: sesame.startupMs, readyRssMb: sesameReadyRss, peakMb: sesamePeak,
    note: `fresh database (migrations included); ${fmt(restartMs)} ms on the migrated one`
  })

  let floorNote = ""
  if (env.BENCH_SKIP_FLOOR === "1") floorNote = "floor skipped (BENCH_SKIP_FLOOR=1)"
  else if (!pgAvailable) floorNote = "floor skipped: the `pg` package is not installed (npm install --save-dev pg)"
  else {
    const floor = await start("floor", db, ["bench/floor.ts"], { DATABASE_URL: databaseUrl, FLOOR_KEY })
    const readyRssMb = rssOf(floor.child.pid).rssMb
    rows.push(...await phases(floor, sesameProtocol(FLOOR_KEY), "f"))
    servers.push({
      server: "floor", version: `node:http + pg ${versionIn(join(root, "node_modules/pg/package.json")) ?? "?"}`, startupMs: floor.startupMs,
      readyRssMb, peakMb: rssOf(floor.child.pid).peakMb, note: "Sesame's database, already migrated"
    })
    await stop(floor)
  }

  if (peerVersion !== undefined) {
    const peerDb = `${db}_peer`
    await createDatabase(peerDb)
    const peer = await start("peer", peerDb, ["bench/peer/server.mjs"], {
      DATABASE_URL: urlFor(peerDb),
      NODE_ENV: "production",
      BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"),
      PEER_RATE_LIMIT: env.BENCH_PEER_RATE_LIMIT ?? "memory"
    })
    const readyRssMb = rssOf(peer.child.pid).rssMb
    rows.push(...await phases(peer, peerProtocol(peer.base), "p"))
    servers.push({
      server: "peer", version: `better-auth ${peerVersion} + email-otp, pg ${versionIn(join(PEER_DIR, "node_modules/pg/package.json")) ?? "?"}`,
      startupMs: peer.startupMs, readyRssMb, peakMb: rssOf(peer.child.pid).peakMb,
      note: `fresh database (its migrations included); rate limiter ${env.BENCH_PEER_RATE_LIMIT ?? "memory"}`
    })
    const peerErrors = peer.output.filter((line) => /error/i.test(line))
    if (peerErrors.length > 0) console.log(`peer logged ${peerErrors.length} error lines (last 200 kept), e.g.:\n  ${peerErrors.slice(0, 5).join("\n  ")}`)
    await stop(peer)
  }

  // WORKERS=n (node:cluster) on top, measured separately: the same key, the same database.
  if (WORKERS > 1) {
    const name = `sesame ×${WORKERS}`
    const many = await start(name, db, npmStart, { ...serverEnv, WORKERS: String(WORKERS) })
    const readyRssMb = rssOf(many.child.pid).rssMb
    rows.push(...await phases(many, sesameProtocol(testKey), "w"))
    servers.push({
      server: name, version: commit, startupMs: many.startupMs, readyRssMb, peakMb: rssOf(many.child.pid).peakMb,
      note: `WORKERS=${WORKERS}: a primary and ${WORKERS} workers sharing the port (RSS and CPU summed over the processes)`
    })
    await stop(many)
  }

  // N separate processes behind the round-robin proxy (README "Deploying"): the same key, the same database.
  if (PROCESSES > 1) {
    const name = `sesame ${PROCESSES} procs`
    const proxyPort = await freePort()
    const publicUrl = `http://127.0.0.1:${proxyPort}`
    const members = await Promise.all(Array.from({ length: PROCESSES }, (_, i) =>
      start(`${name} #${i + 1}`, db, npmStart, { ...serverEnv, PUBLIC_URL: publicUrl, TRUST_PROXY: "127.0.0.1/32" })))
    const proxy = await start(`${name} proxy`, db, ["bench/proxy.ts"], { PORT: String(proxyPort), BACKENDS: members.map((m) => m.base).join(",") })
    const proxied: Server = { ...proxy, name, members }
    const readyRssMb = serverRss(proxied).rssMb
    rows.push(...await phases(proxied, sesameProtocol(testKey), "n"))
    servers.push({
      server: name, version: commit, startupMs: Math.max(...members.map((m) => m.startupMs)), readyRssMb, peakMb: serverRss(proxied).peakMb,
      note: `${PROCESSES} \`sesame serve\` behind bench/proxy.ts (round robin; RSS and CPU summed over the Sesame processes, ` +
        `the proxy's CPU apart); startup: the slowest, started together`
    })
    const proxyCpu = rows.filter((r) => r.server === name).map((r) => `${r.phase} c${r.connections} ${fmt(r.proxyCpuMsPerReq ?? NaN, 2)}`)
    console.log(`${name}: the proxy's own CPU ms/req (not in the table's CPU): ${proxyCpu.join(", ")}`)
    await stop(proxy)
    await Promise.all(members.map(stop))
  }

  const loadAfter = load()
  const text = report(rows, servers)
  console.log("")
  console.log(text)
  console.log("")
  for (const note of [floorNote, peerNote]) if (note !== "") console.log(note)
  console.log(`load average: ${loadBefore} at start, ${loadAfter} at the end (1/5/15 min)`)
  const errorLines = sesameOutput.filter((line) => /error|defect|warn/i.test(line))
  if (errorLines.length > 0) console.log(`sesame logged ${errorLines.length} warning/error lines (last 200 kept), e.g.:\n  ${errorLines.slice(0, 5).join("\n  ")}`)

  const machine = `${cpu}, ${fmt(totalmem() / 2 ** 30)} GiB; Node ${process.version}; PostgreSQL ${pgVersion}; ${pgSettings}`
  if (env.BENCH_RESULTS === "1") {
    const file = join(root, "bench/RESULTS.md")
    appendFileSync(file, [
      "",
      `## ${date.toISOString().slice(0, 16).replace("T", " ")} UTC — \`npm run bench\` on ${commit}`,
      "",
      `Machine: ${machine}. ${SECONDS} s per phase, connections ${CONNECTIONS.join(", ")}, at most ${VERIFY_N} verifies per phase, ` +
      `warm-up ${WARMUP_SECONDS} s${ANALYZE ? ", ANALYZE before each verify phase" : ""}` +
      `${dbSettings.length > 0 ? `, database settings ${env.BENCH_DB_SETTINGS}` : ""}. Load average ${loadBefore} at start, ${loadAfter} at the end.` +
      `${[floorNote, peerNote].filter((n) => n !== "").map((n) => ` ${n[0]?.toUpperCase()}${n.slice(1)}.`).join("")}`,
      "",
      text,
      ""
    ].join("\n"))
    console.log(`appended to ${file}`)
  }

  if (env.BENCH_JSON !== undefined) {
    writeFileSync(env.BENCH_JSON, JSON.stringify({
      date: date.toISOString(), commit, machine, node: process.version, postgres: pgVersion, seconds: SECONDS, connections: CONNECTIONS,
      verifyN: VERIFY_N, warmupSeconds: WARMUP_SECONDS, loadBefore, loadAfter, restartMs, floorNote, peerNote, servers,
      ratios: ratios(rows), rows
    }, null, 2))
  }
}

try {
  await main()
} catch (error) {
  console.error("bench failed:", error)
  process.exitCode = 1
} finally {
  await cleanup()
}
