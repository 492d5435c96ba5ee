/**
 * The floor of `npm run bench` (DESIGN.md "Performance budgets"): plain `node:http` + `pg`, no framework,
 * doing the core SQL of the two hot endpoints against the same `auth_requests` table Sesame uses:
 *   send   → one INSERT of a full auth_requests row (HMAC'd code), 202 { authRequestId, code }
 *   verify → one UPDATE … RETURNING that consumes the code (single use + attempt cap), 200 { … }
 * It deliberately skips what Sesame does on top (outbox row + transaction on send; user upsert, session,
 * refresh token, events and two JWTs on verify), so it is an upper bound, not a like-for-like peer.
 *
 * env: PORT, DATABASE_URL, FLOOR_KEY (the bearer token it accepts), FLOOR_POOL (default 10, as Sesame).
 */
import { createHash, createHmac, randomBytes, randomInt } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import pg from "pg"

const port = Number(process.env.PORT ?? 0)
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? "", max: Number(process.env.FLOOR_POOL ?? 10) })
const keyHash = createHash("sha256").update(process.env.FLOOR_KEY ?? "sk_test_floor").digest("hex")
const secret = randomBytes(32)
const TENANT = "tnt_floor"
const MODE = "test"

const COLUMNS = ["tenant_id", "id", "mode", "channel", "type", "identifier", "email", "phone", "code_hash", "code_length",
  "link_hash", "code_challenge", "redirect_url", "state", "template", "locale", "metadata", "approval", "render_options",
  "client_ip", "user_agent", "attempts", "max_attempts", "resends", "last_sent_at", "created_at", "expires_at",
  "verified_at", "user_id"]
const INSERT = `INSERT INTO auth_requests (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})`
const CONSUME = `UPDATE auth_requests a SET attempts = a.attempts + 1,
    verified_at = CASE WHEN a.code_hash = $4 THEN $5::timestamptz ELSE NULL END
  WHERE a.tenant_id = $1 AND a.mode = $2 AND a.id = $3
    AND a.verified_at IS NULL AND a.expires_at > $5 AND a.attempts < a.max_attempts
  RETURNING ${COLUMNS.join(", ")}`

const codeHash = (id: string, code: string) => createHmac("sha256", secret).update(`${id}:${code}`).digest()

const reply = (res: ServerResponse, status: number, body: unknown) => {
  const json = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
  res.end(json)
}

const readJson = (req: IncomingMessage): Promise<Record<string, unknown> | undefined> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"))
        resolve(typeof value === "object" && value !== null ? value as Record<string, unknown> : undefined)
      } catch {
        resolve(undefined)
      }
    })
    req.on("error", () => resolve(undefined))
  })

const authorized = (req: IncomingMessage) => {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")
  return match?.[1] !== undefined && createHash("sha256").update(match[1]).digest("hex") === keyHash
}

const send = async (req: IncomingMessage, res: ServerResponse) => {
  const body = await readJson(req)
  const email = typeof body?.email === "string" ? body.email.trim().toLowerCase() : ""
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return reply(res, 400, { error: { code: "INVALID_EMAIL" } })
  const now = new Date()
  const expiresAt = new Date(now.getTime() + 600_000)
  const id = `ar_${randomBytes(16).toString("base64url")}`
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0")
  await pool.query(INSERT, [TENANT, id, MODE, "email", "OTP", email, email, null, codeHash(id, code), 6, null, null, null,
    null, "SIGNIN", null, null, null, null, null, null, 0, 5, 0, now, now, expiresAt, null, null])
  reply(res, 202, {
    authRequestId: id, channel: "email", type: "OTP", expiresAt: Math.floor(expiresAt.getTime() / 1000), expiresIn: 600,
    delivery: "sent", code
  })
}

const verify = async (req: IncomingMessage, res: ServerResponse) => {
  const body = await readJson(req)
  const id = body?.authRequestId
  const code = body?.code
  if (typeof id !== "string" || typeof code !== "string") return reply(res, 400, { error: { code: "VALIDATION_FAILED" } })
  const now = new Date()
  const { rows } = await pool.query<{ verified_at: Date | null; attempts: number; max_attempts: number; email: string }>(
    CONSUME, [TENANT, MODE, id, codeHash(id, code), now])
  const row = rows[0]
  if (row === undefined) return reply(res, 404, { error: { code: "NOT_FOUND" } })
  if (row.verified_at === null) return reply(res, 400, { error: { code: "CODE_INVALID", attemptsRemaining: row.max_attempts - row.attempts } })
  reply(res, 200, { authRequest: { id, channel: "email", type: "OTP" }, user: { email: row.email } })
}

const server = createServer((req, res) => {
  const route = `${req.method} ${req.url}`
  const handle = route === "GET /readyz"
    ? pool.query("SELECT 1").then(() => reply(res, 200, { status: "ready" }))
    : !authorized(req)
    ? Promise.resolve(reply(res, 401, { error: { code: "API_KEY_INVALID" } }))
    : route === "POST /v1/passwordless/send"
    ? send(req, res)
    : route === "POST /v1/passwordless/verify"
    ? verify(req, res)
    : Promise.resolve(reply(res, 404, { error: { code: "NOT_FOUND" } }))
  handle.catch((error: unknown) => {
    console.error(error)
    if (!res.headersSent) reply(res, 503, { error: { code: "SERVICE_UNAVAILABLE" } })
  })
})
server.keepAliveTimeout = 65_000

const shutdown = () => {
  server.close()
  server.closeAllConnections()
  void pool.end().finally(() => process.exit(0))
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
server.listen(port, "127.0.0.1", () => console.log(`floor listening on ${port}`))
