/**
 * `npm run bench` — DESIGN.md "Performance budgets".
 *
 * 1. creates a fresh PostgreSQL database, starts Sesame as `npm start` does on a free port, waits for /readyz
 *    (startup-to-ready), creates a tenant with the CLI;
 * 2. send: autocannon against POST /v1/passwordless/send, a distinct email per request;
 * 3. verify: pre-creates N auth requests with plain concurrent fetches, ANALYZE, then autocannon verifies each
 *    once (stops when the list is used up or after BENCH_SECONDS);
 * 4. the floor (bench/floor.ts: node:http + pg, the core SQL only) on the same database, same phases;
 * 5. prints req/s, p50/p99, non-2xx, server RSS after each phase, CPU per request (server and PostgreSQL
 *    backends: robust on a shared machine where req/s drifts), startup-to-ready;
 * 6. always stops the servers and drops the database.
 *
 * Server, PostgreSQL and the load generator share the machine: figures are for comparing in one run.
 *
 * env:
 *   BENCH_SECONDS          measured seconds per phase (10)
 *   BENCH_CONNECTIONS      autocannon connections (50)
 *   BENCH_VERIFY_N         at most this many auth requests pre-created for the verify phase (20000); fewer when
 *                          3 × the send phase's rate × BENCH_SECONDS is less (pre-creating is slow on a slow server)
 *   BENCH_WARMUP_SECONDS   unmeasured warm-up per phase (2; 0 turns it off)
 *   BENCH_PG_ADMIN_URL     where to CREATE/DROP the database (postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_SKIP_FLOOR=1     Sesame only
 *   BENCH_CPU_PROF=DIR     run the Sesame server with --cpu-prof into DIR (bench/profile-top.ts summarises it)
 *   BENCH_SERVER_FLAGS="…" extra node flags for the measured Sesame server, e.g. --heapsnapshot-signal=SIGUSR2
 *   BENCH_HEAP_SNAPSHOT=1  with --heapsnapshot-signal=SIGUSR2 in BENCH_SERVER_FLAGS: a snapshot after each phase
 *   BENCH_SERVER_LOG=FILE  append everything the Sesame server prints to FILE (e.g. with --trace-gc)
 *   BENCH_JSON=FILE        also write the raw figures as JSON
 *   BENCH_DB_SETTINGS=a=b,c=d  ALTER DATABASE … SET for the bench database, e.g. synchronous_commit=off to take the
 *                          disk's fsync latency out and see the CPU-bound figures (default: the server's settings)
 *   BENCH_ANALYZE=0        skip the ANALYZE before each verify phase (autovacuum may be off on the bench server)
 *   BENCH_KEEP_DB=1        do not drop the database at the end (for EXPLAIN); the servers are still stopped
 *   BENCH_WAIT_QUIET=N     first wait up to N s for the 1-minute load average to drop below 0.5 (the machine is shared)
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { cpus, loadavg } from "node:os"
import { promisify } from "node:util"
import autocannon from "autocannon"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const env = process.env
const SECONDS = Number(env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
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
/** Sesame is started as `npm start` starts it: the node flags and arguments of package.json's "start". */
const npmStart = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } })
  .scripts.start.split(" ").filter((arg) => arg !== "").slice(1)
const FLOOR_KEY = `sk_test_${randomBytes(32).toString("base64url")}`

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

const rssOf = (pid: number | undefined) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? NaN)
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 }
  } catch {
    return { rssMb: NaN, peakMb: NaN }
  }
}

/** CPU time (user + system) the process has used so far, in ms (clock ticks of 10 ms). */
const cpuMsOf = (pid: number | undefined) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

/** CPU ms so far of each backend connected to `db` (PostgreSQL runs on this machine). */
const backendCpu = async (db: string) => {
  const pids = await adminQueryValue(`SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, db)
  return new Map(pids.split(",").filter((p) => /^\d+$/.test(p)).map((p) => [Number(p), cpuMsOf(Number(p))] as const))
}

const start = async (name: string, db: string, args: ReadonlyArray<string>, extraEnv: Record<string, string>): Promise<Server> => {
  const port = await freePort()
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
      const res = await fetch(`${base}/readyz`)
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
  readonly sample?: string
}

const headersFor = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" })

/** autocannon with a per-request body; stops at `amount` requests or after `seconds`, whichever comes first. */
const cannon = async (
  server: Server, path: string, key: string, bodyOf: (i: number) => string,
  options: { readonly seconds: number; readonly amount?: number }
) => {
  let i = 0
  let sample: string | undefined
  const instance = autocannon({
    url: server.base,
    connections: CONNECTIONS,
    timeout: 10,
    ...(options.amount === undefined ? { duration: options.seconds } : { amount: options.amount }),
    requests: [{
      method: "POST",
      path,
      headers: headersFor(key),
      // autocannon stops with an error if setupRequest returns nothing, so bodyOf always answers.
      setupRequest: (request) => ({ ...request, body: bodyOf(i++) }),
      onResponse: (status, body) => {
        if ((status < 200 || status > 299) && sample === undefined) sample = `${status} ${body.slice(0, 300)}`
      }
    }]
  })
  const timer = options.amount === undefined ? undefined : setTimeout(() => instance.stop(), options.seconds * 1000)
  const result = await instance
  clearTimeout(timer)
  return { result, sample }
}

const measure = async (
  server: Server, phase: string, path: string, key: string, bodyOf: (i: number) => string,
  options: { readonly seconds: number; readonly amount?: number }
): Promise<Phase> => {
  process.stderr.write(`  ${server.name} ${phase}: ${options.amount === undefined ? `${options.seconds} s` : `${options.amount} requests (≤ ${options.seconds} s)`} … `)
  const cpu0 = cpuMsOf(server.child.pid)
  const backends0 = await backendCpu(server.db)
  const { result, sample } = await cannon(server, path, key, bodyOf, options)
  const cpuMs = cpuMsOf(server.child.pid) - cpu0
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
    seconds: result.duration,
    requests,
    ok: result["2xx"],
    reqPerSec: requests / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
    ...rssOf(server.child.pid),
    cpuMsPerReq: cpuMs / requests,
    pgCpuMsPerReq: pgCpuMs / requests,
    ...(sample === undefined ? {} : { sample })
  }
  if (env.BENCH_HEAP_SNAPSHOT === "1" && server.name === "sesame") {
    server.child.kill("SIGUSR2")
    await sleep(5_000)
  }
  process.stderr.write(`${row.reqPerSec.toFixed(0)} req/s, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}, ` +
    `CPU ms/req: server ${row.cpuMsPerReq.toFixed(2)}, PostgreSQL ${row.pgCpuMsPerReq.toFixed(2)}\n`)
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
const nextEmail = (tag: string) => `user${emails++}.${tag}@bench.test`

/** Plain concurrent fetches (not measured) that collect what the verify phase consumes. */
const precreate = async (server: Server, key: string, n: number, tag: string) => {
  const t0 = performance.now()
  const out: Array<{ readonly authRequestId: string; readonly code: string }> = []
  let failures = 0
  let lastFailure = ""
  let issued = 0
  const worker = async () => {
    while (issued < n) {
      issued++
      const res = await fetch(`${server.base}/v1/passwordless/send`, {
        method: "POST",
        headers: headersFor(key),
        body: JSON.stringify({ email: nextEmail(tag) })
      })
      const body = await res.json() as { authRequestId?: string; code?: string }
      if (res.status === 202 && typeof body.authRequestId === "string" && typeof body.code === "string") {
        out.push({ authRequestId: body.authRequestId, code: body.code })
      } else {
        failures++
        lastFailure = `${res.status} ${JSON.stringify(body).slice(0, 300)}`
        if (failures > 100) throw new Error(`pre-creating auth requests keeps failing: ${lastFailure}`)
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
  process.stderr.write(`  ${server.name}: pre-created ${out.length} auth requests in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
    `${failures > 0 ? ` (${failures} failed, last: ${lastFailure})` : ""}\n`)
  return out
}

/** Each auth request once. Past the end (autocannon asked for more than `amount`) a bogus id answers 404 (non-2xx). */
const verifyBodies = (list: ReadonlyArray<{ readonly authRequestId: string; readonly code: string }>) =>
  (i: number) => {
    const item = list[i] ?? { authRequestId: "ar_list_exhausted", code: "000000" }
    return JSON.stringify({ authRequestId: item.authRequestId, code: item.code })
  }

/** Warm-up send, send, pre-create, warm-up verify, verify. */
const phases = async (server: Server, key: string, tag: string): Promise<Array<Phase>> => {
  const rows: Array<Phase> = []
  const sendBody = () => JSON.stringify({ email: nextEmail(tag) })
  if (WARMUP_SECONDS > 0) await cannon(server, "/v1/passwordless/send", key, sendBody, { seconds: WARMUP_SECONDS })
  const send = await measure(server, "send", "/v1/passwordless/send", key, sendBody, { seconds: SECONDS })
  rows.push(send)
  // No more than the verify phase can plausibly use: 3× what send managed in the same time, at most BENCH_VERIFY_N.
  const verifyN = Math.min(VERIFY_N, Math.max(2_000, Math.ceil(send.reqPerSec * SECONDS * 3)))
  const warmupN = WARMUP_SECONDS > 0 ? Math.min(5_000, Math.max(CONNECTIONS, Math.round(verifyN / 10))) : 0
  const list = await precreate(server, key, verifyN + warmupN, tag)
  if (ANALYZE) await adminQueryValue("ANALYZE", server.db)
  if (warmupN > 0) await cannon(server, "/v1/passwordless/verify", key, verifyBodies(list.slice(0, warmupN)), { seconds: WARMUP_SECONDS * 5, amount: warmupN })
  const measured = list.slice(warmupN)
  rows.push(await measure(server, "verify", "/v1/passwordless/verify", key, verifyBodies(measured), { seconds: SECONDS, amount: measured.length }))
  return rows
}

// ---------------------------------------------------------------------------------------------- report

const fmt = (n: number, digits = 0) => Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a"

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join(" | ")} |`
  return [line(header), `|${widths.map((w, i) => i < 2 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`).join("|")}|`, ...rows.map(line)].join("\n")
}

// ------------------------------------------------------------------------------------------------- main

const load = () => loadavg().map((n) => n.toFixed(2)).join(" ")

const waitQuiet = async (maxSeconds: number) => {
  const t0 = performance.now()
  while (loadavg()[0]! >= 0.5 && performance.now() - t0 < maxSeconds * 1000) await sleep(5_000)
  process.stderr.write(`  load average ${load()} after waiting ${fmt((performance.now() - t0) / 1000)} s for a quiet machine\n`)
}

const main = async () => {
  if (env.BENCH_WAIT_QUIET !== undefined) await waitQuiet(Number(env.BENCH_WAIT_QUIET))
  const loadBefore = load()
  const db = `sesame_bench_${randomBytes(6).toString("hex")}`
  const databaseUrl = urlFor(db)
  const pgAvailable = (await loadPg()) !== undefined
  console.log(`Sesame bench: ${SECONDS} s per phase, ${CONNECTIONS} connections, ${VERIFY_N} verifies max, warm-up ${WARMUP_SECONDS} s; ` +
    `node ${process.version}; database ${db}`)
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}); load average at start ${loadBefore}. ` +
    "Load generator, server(s) and PostgreSQL all share this machine: compare figures within one run.")

  await adminQuery(`CREATE DATABASE ${db}`)
  cleanups.push(() => env.BENCH_KEEP_DB === "1"
    ? Promise.resolve(console.log(`kept database ${db} (BENCH_KEEP_DB=1): drop it with psql -c 'DROP DATABASE ${db} WITH (FORCE)'`))
    : adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`))
  const dbSettings = (env.BENCH_DB_SETTINGS ?? "").split(",").filter((s) => s.trim() !== "").map((s) => s.split("=").map((p) => p.trim()))
  for (const [name, value] of dbSettings) {
    if (name === undefined || value === undefined || !/^[a-z_]+$/.test(name) || !/^[A-Za-z0-9_.]+$/.test(value)) {
      throw new Error(`BENCH_DB_SETTINGS: expected name=value pairs, got ${env.BENCH_DB_SETTINGS}`)
    }
    await adminQuery(`ALTER DATABASE ${db} SET ${name} = '${value}'`)
  }
  const sc = await adminQueryValue(`SELECT current_setting('synchronous_commit') || ' / fsync ' || current_setting('fsync') || ' / ' || version()`, db)
  const autovacuum = await adminQueryValue(`SELECT current_setting('autovacuum')`, db)
  console.log(`PostgreSQL: synchronous_commit ${sc}; autovacuum ${autovacuum}; ` +
    `${ANALYZE ? "ANALYZE before each verify phase" : "no ANALYZE (BENCH_ANALYZE=0)"}`)

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
  const sesame = await start("sesame", db, sesameArgs, serverEnv)
  const startup = { sesame: sesame.startupMs, sesameRssMb: rssOf(sesame.child.pid).rssMb }
  process.stderr.write(`  sesame ready in ${fmt(sesame.startupMs)} ms (fresh database, migrations included), RSS ${fmt(startup.sesameRssMb, 1)} MB\n`)

  const created = await promisify(execFile)(process.execPath, ["src/cli.ts", "tenant", "create", "--name", "Bench", "--json"], {
    cwd: root, env: { ...env, ...serverEnv }
  })
  const jsonLine = created.stdout.split("\n").reverse().find((line) => line.startsWith("{"))
  if (jsonLine === undefined) throw new Error(`tenant create printed no JSON:\n${created.stdout}\n${created.stderr}`)
  const tenant = JSON.parse(jsonLine) as { tenant: { id: string }; keys: { test: string } }
  const testKey = tenant.keys.test
  console.log(`tenant limits: ${await raiseKeyLimit(sesame, testKey, tenant.tenant.id, db)}`)

  const rows: Array<Phase> = await phases(sesame, testKey, "s")
  const sesameOutput = sesame.output.slice()
  await stop(sesame)

  // A second start on the now-migrated database: what a restart/deploy costs.
  const again = await start("sesame", db, npmStart, serverEnv)
  const restartMs = again.startupMs
  await stop(again)

  let floorStartup: number | undefined
  let floorNote = ""
  if (env.BENCH_SKIP_FLOOR === "1") floorNote = "floor skipped (BENCH_SKIP_FLOOR=1)"
  else if (!pgAvailable) floorNote = "floor skipped: the `pg` package is not installed (npm install --save-dev pg)"
  else {
    const floor = await start("floor", db, ["bench/floor.ts"], { DATABASE_URL: databaseUrl, FLOOR_KEY })
    floorStartup = floor.startupMs
    rows.push(...await phases(floor, FLOOR_KEY, "f"))
    await stop(floor)
  }

  console.log("")
  console.log(table(
    ["server", "phase", "req/s", "p50 ms", "p99 ms", "max ms", "requests", "non-2xx", "errors", "RSS MB", "peak RSS MB", "CPU ms/req", "PG CPU ms/req"],
    rows.map((r) => [r.server, r.phase, fmt(r.reqPerSec), fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.requests), fmt(r.non2xx),
      fmt(r.errors), fmt(r.rssMb, 1), fmt(r.peakMb, 1), fmt(r.cpuMsPerReq, 2), fmt(r.pgCpuMsPerReq, 2)])
  ))
  console.log("")
  console.log(`startup to ready: sesame ${fmt(startup.sesame)} ms on a fresh database (migrations included), ` +
    `${fmt(restartMs)} ms on a migrated one; RSS when ready ${fmt(startup.sesameRssMb, 1)} MB` +
    (floorStartup === undefined ? "" : `; floor ${fmt(floorStartup)} ms`))
  if (floorNote !== "") console.log(floorNote)
  console.log(`load average: ${loadBefore} at start, ${load()} at the end (1/5/15 min)`)
  const find = (server: string, phase: string) => rows.find((r) => r.server === server && r.phase === phase)
  for (const phase of ["send", "verify"]) {
    const s = find("sesame", phase)
    const f = find("floor", phase)
    if (s !== undefined && f !== undefined) console.log(`sesame/floor ${phase}: ${fmt(s.reqPerSec / f.reqPerSec * 100)} %`)
  }
  for (const r of rows) {
    const odd = Object.entries(r.statusCodes).filter(([code]) => !code.startsWith("2"))
    if (odd.length > 0) console.log(`${r.server} ${r.phase} status codes: ${JSON.stringify(r.statusCodes)}${r.sample === undefined ? "" : `, first: ${r.sample}`}`)
  }
  const errorLines = sesameOutput.filter((line) => /error|defect|warn/i.test(line))
  if (errorLines.length > 0) console.log(`sesame logged ${errorLines.length} warning/error lines (last 200 kept), e.g.:\n  ${errorLines.slice(0, 5).join("\n  ")}`)

  if (env.BENCH_JSON !== undefined) {
    writeFileSync(env.BENCH_JSON, JSON.stringify({
      date: new Date().toISOString(), node: process.version, seconds: SECONDS, connections: CONNECTIONS, verifyN: VERIFY_N,
      warmupSeconds: WARMUP_SECONDS, loadBefore, loadAfter: load(), startupMs: startup.sesame, restartMs, readyRssMb: startup.sesameRssMb, floorStartupMs: floorStartup,
      floorNote, rows
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
