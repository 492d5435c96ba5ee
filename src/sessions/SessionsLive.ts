import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Schema } from "effect"
import { SessionId } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"
import { randomId, randomToken, sha256 } from "../platform/Crypto.ts"
import { issueTokens } from "./IssueTokens.ts"
import { Sessions, type SignInInput } from "./Sessions.ts"
import { TokenSigner } from "./TokenSigner.ts"
import { toWireUser, USER_COLUMNS, UserRow } from "./UserStore.ts"

const SignInRow = Schema.Struct({ ...UserRow.fields, inserted: Schema.Boolean })
const decodeSignInRow = Schema.decodeUnknownEffect(SignInRow)

export const make = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const signer = yield* TokenSigner
  const userColumns = sql.unsafe(USER_COLUMNS)

  const upsert = Effect.fnUntraced(function*(input: SignInInput, issueSession: boolean) {
    const { tenantId, mode, policy } = input
    const identifier = input.channel === "email" ? input.email : input.phone
    if (identifier === null) return yield* Effect.die(new Error(`signIn by ${input.channel} without that identifier`))
    const now = new Date(yield* Clock.currentTimeMillis)
    const sessionId = SessionId.make(randomId("ses"))
    const refreshToken = `rt_${randomToken(32)}`
    const sessionExpiresAt = new Date(now.getTime() + policy.sessionLifetimeSeconds * 1000)
    const refreshExpiresAt = new Date(Math.min(now.getTime() + policy.refreshTokenTtlSeconds * 1000, sessionExpiresAt.getTime()))
    const column = input.channel === "email"
      ? { id: sql("email"), verified: sql("emailVerifiedAt") }
      : { id: sql("phone"), verified: sql("phoneVerifiedAt") }
    const amr = JSON.stringify(input.amr)

    // One round trip. The upsert is one statement, so two first sign-ins racing on one identifier end
    // with one user (the loser takes the DO UPDATE branch); `xmax = 0` tells a fresh insert apart.
    // Refresh tokens are stored only as SHA-256 (DESIGN.md "Storage").
    const rows = yield* unavailable(sql`
      WITH u AS (
        INSERT INTO users (tenant_id, id, mode, ${column.id}, ${column.verified}, created_at, last_login_at)
        VALUES (${tenantId}, ${randomId("usr")}, ${mode}, ${identifier}, ${now}, ${now}, ${now})
        ON CONFLICT (tenant_id, mode, ${column.id}) WHERE ${column.id} IS NOT NULL DO UPDATE SET
          last_login_at = EXCLUDED.last_login_at,
          ${column.verified} = COALESCE(users.${column.verified}, EXCLUDED.last_login_at)
        RETURNING ${userColumns}, (xmax = 0) AS inserted
      ), s AS (
        INSERT INTO sessions (tenant_id, id, mode, user_id, amr, client_ip, user_agent, created_at, last_used_at, expires_at)
        SELECT ${tenantId}, ${sessionId}, ${mode}, u.id, ${amr}::jsonb, ${input.clientIp}::text, ${input.userAgent}::text,
          ${now}, ${now}, ${sessionExpiresAt} FROM u WHERE ${issueSession}
      ), r AS (
        INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, created_at, expires_at)
        SELECT ${tenantId}, ${sha256(refreshToken)}, ${sessionId}, ${now}, ${refreshExpiresAt} WHERE ${issueSession}
      ), e AS (
        INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        SELECT ${tenantId}, v.id, ${mode}, v.type,
          jsonb_build_object('userId', u.id, 'email', COALESCE(u.email, ${input.request?.email ?? null}::text), 'phone', u.phone,
            'method', ${amr}::jsonb, 'ip', ${input.clientIp}::text, 'riskScore', ${input.request?.riskScore ?? null}::real,
            'isVoip', ${input.request?.isVoip ?? null}::boolean),
          ${now}
        FROM u, (VALUES (${randomId("evt")}, 'user.created', true), (${randomId("evt")}, 'user.verified', false),
          (${randomId("evt")}, 'login.success', false))
          AS v (id, type, only_new)
        WHERE u.inserted OR NOT v.only_new
      )
      SELECT * FROM u`)
    const row = yield* Effect.orDie(decodeSignInRow(rows[0]))
    return { row, now, sessionId, refreshToken, refreshExpiresAt, sessionExpiresAt }
  })

  const signIn = Effect.fn("Sessions.signIn")(function*(input: SignInInput) {
    const { row, now, sessionId, refreshToken, refreshExpiresAt, sessionExpiresAt } = yield* upsert(input, true)
    const { session, idToken } = yield* issueTokens(signer, {
      tenantId: input.tenantId, mode: input.mode, sessionId, user: row, amr: input.amr, policy: input.policy, now, refreshToken,
      refreshExpiresAt, sessionExpiresAt, approval: input.approval ?? null
    })
    return { user: toWireUser(row), isNewUser: row.inserted, session, idToken }
  })

  const confirm = Effect.fn("Sessions.confirm")(function*(input: SignInInput) {
    const { row } = yield* upsert(input, false)
    return { user: toWireUser(row), isNewUser: row.inserted }
  })

  return Sessions.of({ signIn, confirm })
})

export const layer = Layer.effect(Sessions)(make)
