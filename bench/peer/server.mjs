// @ts-check
/**
 * The peer of `npm run bench` (issue 11): Better Auth with its email-OTP plugin, on `pg`, served by plain
 * `node:http` through Better Auth's own Node handler. Its own package (bench/peer/package.json) so it is no
 * dependency of Sesame; JavaScript with `@ts-check` so Sesame's `tsc` never needs it installed
 * (`npm exec -- tsc -p bench/peer` checks it once `npm ci --prefix bench/peer` has run).
 *
 *   send   → POST /api/auth/email-otp/send-verification-otp { email, type: "sign-in" }  → 200 { success }
 *   verify → POST /api/auth/sign-in/email-otp { email, otp }  → 200 { token, user } (creates the user and a session)
 *
 * Mail is a no-op. The OTP is kept in memory only for addresses at @otp.bench.test, the ones the bench
 * pre-creates for its verify phase and then reads back with GET /bench/otp?email=… (a bench-only route, outside
 * Better Auth); the measured send phase uses other addresses, so it stores nothing in memory.
 *
 * Options that matter for a fair comparison (defaults unless said):
 * - migrations (Better Auth's own `getMigrations`) run before listening: startup-to-ready includes them;
 * - OTPs stored hashed (`storeOTP: "hashed"`; the plugin's default is plain text): Sesame stores HMACs;
 * - sessions in PostgreSQL, no secondary storage, no cookie cache (its defaults);
 * - rate limiting: PEER_RATE_LIMIT=memory (default) keeps Better Auth's limiter on, in its default in-memory
 *   store, with the two bench paths raised to 1,000,000 per minute (their defaults are 3 per minute per IP;
 *   the bench sends no X-Forwarded-For, so all its requests share one bucket per path and Better Auth warns
 *   once); PEER_RATE_LIMIT=off turns it off;
 * - telemetry off (its default), no OpenTelemetry package installed (its spans are no-ops).
 *
 * env: PORT, DATABASE_URL, PEER_POOL (pg pool size, default 10 as Sesame), PEER_RATE_LIMIT (memory | off),
 *      BETTER_AUTH_SECRET (default: random per start).
 */
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import { betterAuth } from "better-auth"
import { getMigrations } from "better-auth/db/migration"
import { toNodeHandler } from "better-auth/node"
import { emailOTP } from "better-auth/plugins/email-otp"
import pg from "pg"

const port = Number(process.env.PORT ?? 0)
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? "", max: Number(process.env.PEER_POOL ?? 10) })
const rateLimit = process.env.PEER_RATE_LIMIT ?? "memory"
if (rateLimit !== "memory" && rateLimit !== "off") throw new Error(`PEER_RATE_LIMIT: memory or off, got ${rateLimit}`)

/** OTPs of the pre-created verifies only (see the header). */
const captured = new Map()
const CAPTURE_DOMAIN = "@otp.bench.test"
const RAISED = { window: 60, max: 1_000_000 }

/** @type {import("better-auth").BetterAuthOptions} */
const options = {
  baseURL: `http://127.0.0.1:${port}`,
  basePath: "/api/auth",
  secret: process.env.BETTER_AUTH_SECRET ?? randomBytes(32).toString("base64url"),
  database: pool,
  rateLimit: rateLimit === "off"
    ? { enabled: false }
    : {
      enabled: true,
      storage: "memory",
      customRules: { "/email-otp/send-verification-otp": RAISED, "/sign-in/email-otp": RAISED }
    },
  telemetry: { enabled: false },
  logger: { level: "warn" },
  plugins: [
    emailOTP({
      storeOTP: "hashed",
      async sendVerificationOTP({ email, otp }) {
        if (email.endsWith(CAPTURE_DOMAIN)) captured.set(email, otp)
      }
    })
  ]
}

const { runMigrations } = await getMigrations(options)
await runMigrations()
const auth = betterAuth(options)
const handler = toNodeHandler(auth)

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
const reply = (res, status, body) => {
  const json = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
  res.end(json)
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://peer")
  if (req.method === "GET" && url.pathname === "/readyz") {
    pool.query("SELECT 1").then(() => reply(res, 200, { status: "ready" }), () => reply(res, 503, { status: "not ready" }))
  } else if (req.method === "GET" && url.pathname === "/bench/otp") {
    const email = url.searchParams.get("email") ?? ""
    const otp = captured.get(email)
    captured.delete(email)
    if (otp === undefined) reply(res, 404, { error: "no OTP captured for this address" })
    else reply(res, 200, { email, otp })
  } else if (url.pathname.startsWith("/api/auth/")) {
    handler(req, res).catch((/** @type {unknown} */ error) => {
      console.error(error)
      if (!res.headersSent) reply(res, 500, { error: "handler failed" })
    })
  } else reply(res, 404, { error: "not found" })
})
server.keepAliveTimeout = 65_000

const shutdown = () => {
  server.close()
  server.closeAllConnections()
  void pool.end().finally(() => process.exit(0))
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
server.listen(port, "127.0.0.1", () => console.log(`peer (better-auth) listening on ${port}`))
