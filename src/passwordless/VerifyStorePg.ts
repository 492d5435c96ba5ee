import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer } from "effect"
import { isSqlError } from "effect/sql/SqlError"
import { RequestContext } from "../audit/Audit.ts"
import { SessionId } from "../domain/Ids.ts"
import { decisionOf, isRefusal, refusalOf } from "../limits/LimitSql.ts"
import { algorithmOf, type Check } from "../limits/RateLimiter.ts"
import { randomId, randomToken, sha256 } from "../platform/Crypto.ts"
import { unavailable } from "../platform/Sql.ts"
import { issueTokens } from "../sessions/IssueTokens.ts"
import { TokenSigner } from "../sessions/TokenSigner.ts"
import { toWireUser, type UserRow } from "../sessions/UserStore.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import { CodeStore } from "./CodeStore.ts"
import { COLUMNS, makeExplain, rowOf } from "./CodeStorePg.ts"
import { type Attempt, type Attempted, layerComposed, resolve, VerifyStore } from "./VerifyStore.ts"

interface Row extends AuthRequestRow {
  /** The proof matched: the request is now verified. */
  readonly ok: boolean | null
  readonly gateOpen: boolean
  readonly limHits: ReadonlyArray<number> | null
  readonly usrId: UserRow["id"] | null
  readonly usrEmail: string | null
  readonly usrPhone: string | null
  readonly usrEmailVerifiedAt: Date | null
  readonly usrPhoneVerifiedAt: Date | null
  readonly usrCreatedAt: Date | null
  readonly usrLastLoginAt: Date | null
  readonly usrInserted: boolean | null
  readonly locked: boolean | null
}

/**
 * Whether the request's number was VOIP, from the risk signals stored at send (null for email): the
 * sign-in and failure events carry it with the risk score, as Auth1's webhooks do.
 */
const IS_VOIP_SQL = `CASE WHEN c.channel = 'sms' THEN COALESCE(c.risk_signals @> '["line_type:voip"]'::jsonb, FALSE) END`

const C_COLUMNS = COLUMNS.split(", ").map((c) => `c.${c}`).join(", ")

/**
 * The verify as ONE statement, no BEGIN/COMMIT, the JWTs signed after it:
 * - the attempt: the conditional UPDATE of the request decides single use (`verified_at IS NULL` on the
 *   locked row), the attempt cap (`attempts < max_attempts`), expiry, the identifier lock and the
 *   bound email (Auth1) — as CodeStorePg.consume does;
 * - the identifier's guess limit: a gate on its bucket before the UPDATE (a refused verify changes
 *   nothing), the upsert after it; a racing verify that filled the bucket meanwhile aborts the whole
 *   statement (`sesame_refuse`), so a guess is never counted beyond the limit;
 * - on a match: the user upsert (by email or phone), the session, the refresh token (SHA-256 only), the
 *   `user.created`/`user.verified`/`login.success` events, the failure reset and the audit row;
 * - on a wrong guess: the identifier's failure count and lock, the `login.failed` event and the
 *   `login.failed`/`auth_request.locked`/`identifier.locked` audit rows.
 * Everything the request changes commits together or not at all. Only a verify that changed nothing
 * reads more, to say why. A guess limit above LOG_MAX (a slotted window) takes the composed path.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const signer = yield* TokenSigner
  const store = yield* CodeStore
  // the reference rules, for a guess limit this statement does not count (a slotted window)
  const composed = Context.get(yield* Layer.build(layerComposed), VerifyStore)
  const { explain, linkIs } = makeExplain(sql)
  const cols = sql.unsafe(COLUMNS)
  const cCols = sql.unsafe(C_COLUMNS)
  const IS_VOIP = sql.unsafe(IS_VOIP_SQL)

  const verify = Effect.fnUntraced(function* (attempt: Attempt) {
    const { key, policy, now } = attempt
    const sample: Check = attempt.check("")
    const prefix = sample.bucket
    if (algorithmOf(sample) !== "log" || attempt.check("x").bucket !== `${prefix}x`) return yield* composed.verify(attempt)
    const target = yield* resolve(store, key, attempt.target)
    if (target === undefined) return { _tag: "NotFound" } as const
    const { proof } = target
    const context = yield* RequestContext
    const nowMs = now.getTime()
    const isLink = proof._tag === "Link"

    // resendStrategy "keep": earlier codes and links of the request match too
    const matches = proof._tag === "Code"
      ? sql`(a.code_hash = ${proof.hash} OR ${proof.hash}::bytea = ANY(a.kept_code_hashes))`
      : sql`${linkIs(proof.hash)} AND (a.code_challenge IS NULL OR a.code_challenge = ${proof.challenge}::text)`
    const which = target.id !== null
      ? sql`a.id = ${target.id}${isLink ? sql` AND ${linkIs(proof.hash)}` : sql``}`
      : isLink ? linkIs(proof.hash) : sql`FALSE`
    // An SMS sent with a bound email (Auth1) verifies only with that same email; no attempt is counted.
    const boundEmail = proof._tag === "Code"
      ? sql`AND NOT (a.channel = 'sms' AND a.email IS NOT NULL AND a.email IS DISTINCT FROM ${attempt.email}::text)`
      : sql``

    const issueSession = attempt.issueSession !== false
    const sessionId = SessionId.make(randomId("ses"))
    const refreshToken = `rt_${randomToken(32)}`
    const sessionExpiresAt = new Date(nowMs + policy.sessionLifetimeSeconds * 1000)
    const refreshExpiresAt = new Date(Math.min(nowMs + policy.refreshTokenTtlSeconds * 1000, sessionExpiresAt.getTime()))
    const lockUntil = new Date(nowMs + policy.identifierLockSeconds * 1000)
    const amr = isLink ? sql`'["link"]'::jsonb` : sql`jsonb_build_array('otp', c.channel)`
    const clientIp = attempt.client.ip
    const audit = { actor: context.actor, ip: context.ip, requestId: context.requestId }
    const userInsert = (column: "email" | "phone", channel: "email" | "sms") => {
      const verified = column === "email" ? sql`email_verified_at` : sql`phone_verified_at`
      return sql`INSERT INTO users (tenant_id, id, mode, ${sql(column)}, ${verified}, created_at, last_login_at)
        SELECT ${key.tenantId}, ${randomId("usr")}, ${key.mode}, c.${sql(column)}, ${now}, ${now}, ${now}
        FROM c WHERE c.ok AND c.channel = ${channel}
        ON CONFLICT (tenant_id, mode, ${sql(column)}) WHERE ${sql(column)} IS NOT NULL DO UPDATE SET
          last_login_at = EXCLUDED.last_login_at,
          ${verified} = COALESCE(users.${verified}, EXCLUDED.last_login_at)
        RETURNING id, email, phone, email_verified_at, phone_verified_at, created_at, last_login_at, (xmax = 0) AS inserted`
    }

    const rows = yield* sql<Row>`
      WITH tgt AS (
        SELECT a.identifier FROM auth_requests a
        WHERE a.tenant_id = ${key.tenantId} AND a.mode = ${key.mode} AND ${which} LIMIT 1
      ), lim_gate AS (
        SELECT NOT EXISTS (
          SELECT 1 FROM tgt, LATERAL (SELECT r.hits FROM rate_limits r
            WHERE r.tenant_id = ${key.tenantId} AND r.bucket = ${prefix}::text || tgt.identifier LIMIT 1) r
          WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - ${sample.periodMs}::float8) >= ${sample.limit}::int
        ) AS open
      ), c AS (
        UPDATE auth_requests a SET
          attempts = a.attempts + 1,
          verified_at = CASE WHEN ${matches} THEN ${now}::timestamptz ELSE NULL END,
          sealed_credentials = CASE WHEN ${matches} THEN NULL ELSE a.sealed_credentials END
        WHERE a.tenant_id = ${key.tenantId} AND a.mode = ${key.mode} AND ${which}
          AND a.verified_at IS NULL AND a.expires_at > ${now} AND a.attempts < a.max_attempts ${boundEmail}
          AND NOT EXISTS (SELECT 1 FROM identifier_failures f
            WHERE f.tenant_id = a.tenant_id AND f.mode = a.mode AND f.identifier = a.identifier AND f.locked_until > ${now})
          AND (SELECT open FROM lim_gate)
        RETURNING ${cols}, (a.verified_at IS NOT NULL) AS ok
      ), lim_l AS (
        INSERT INTO rate_limits AS r (tenant_id, bucket, hits, period_ms, lim)
        SELECT ${key.tenantId}, ${prefix}::text || c.identifier, ARRAY[${nowMs}::float8], ${sample.periodMs}::float8, ${sample.limit}::int
        FROM c
        ON CONFLICT (tenant_id, bucket) DO UPDATE
          SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms ORDER BY h)
                     || ${nowMs}::float8,
              period_ms = EXCLUDED.period_ms, lim = EXCLUDED.lim
          WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms) < EXCLUDED.lim
        RETURNING r.hits
      ), u_email AS (
        ${userInsert("email", "email")}
      ), u_phone AS (
        ${userInsert("phone", "sms")}
      ), u AS (
        SELECT * FROM u_email UNION ALL SELECT * FROM u_phone
      ), s AS (
        INSERT INTO sessions (tenant_id, id, mode, user_id, amr, client_ip, user_agent, created_at, last_used_at, expires_at)
        SELECT ${key.tenantId}, ${sessionId}, ${key.mode}, u.id, ${amr}, COALESCE(${clientIp}::text, c.client_ip),
          COALESCE(${attempt.client.userAgent}::text, c.user_agent), ${now}, ${now}, ${sessionExpiresAt}
        FROM u, c WHERE ${issueSession}
      ), r AS (
        INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, created_at, expires_at)
        SELECT ${key.tenantId}, ${sha256(refreshToken)}, ${sessionId}, ${now}, ${refreshExpiresAt} FROM u WHERE ${issueSession}
      ), e AS (
        INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        SELECT ${key.tenantId}, v.id, ${key.mode}, v.type,
          jsonb_build_object('userId', u.id, 'email', COALESCE(u.email, c.email), 'phone', u.phone, 'method', ${amr},
            'ip', COALESCE(${clientIp}::text, c.client_ip), 'riskScore', c.risk_score, 'isVoip', ${IS_VOIP}),
          ${now}
        FROM u, c, (VALUES (${randomId("evt")}, 'user.created', true), (${randomId("evt")}, 'user.verified', false),
          (${randomId("evt")}, 'login.success', false)) AS v (id, type, only_new)
        WHERE u.inserted OR NOT v.only_new
      ), reset AS (
        UPDATE identifier_failures f SET failures = 0, updated_at = ${now}
        WHERE f.tenant_id = ${key.tenantId} AND f.mode = ${key.mode} AND f.failures > 0
          AND f.identifier = (SELECT c.identifier FROM c WHERE c.ok)
      ), ok_audit AS (
        INSERT INTO audit_log (tenant_id, id, mode, type, actor, ip, request_id, subject, details, created_at)
        SELECT ${key.tenantId}, ${randomId("aud")}, ${key.mode}, 'login.success', ${audit.actor}::text, ${audit.ip}::text,
          ${audit.requestId}::text, u.id,
          jsonb_build_object('authRequestId', c.id, 'userId', u.id, 'sessionId', ${issueSession ? sessionId : null}::text, 'amr', ${amr}), ${now}
        FROM u, c
      ), fail AS (
        INSERT INTO identifier_failures AS f (tenant_id, mode, identifier, failures, locked_until, updated_at)
        SELECT ${key.tenantId}, ${key.mode}, c.identifier,
          CASE WHEN 1 >= ${policy.maxFailuresPerIdentifier}::int THEN 0 ELSE 1 END,
          CASE WHEN 1 >= ${policy.maxFailuresPerIdentifier}::int THEN ${lockUntil}::timestamptz END, ${now}
        FROM c WHERE NOT c.ok
        ON CONFLICT (tenant_id, mode, identifier) DO UPDATE SET
          failures = CASE WHEN f.failures + 1 >= ${policy.maxFailuresPerIdentifier}::int THEN 0 ELSE f.failures + 1 END,
          locked_until = CASE WHEN f.failures + 1 >= ${policy.maxFailuresPerIdentifier}::int THEN ${lockUntil}::timestamptz
                              ELSE f.locked_until END,
          updated_at = ${now}
        RETURNING f.failures = 0 AND f.locked_until = ${lockUntil}::timestamptz AS locked
      ), fail_event AS (
        INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        SELECT ${key.tenantId}, ${randomId("evt")}, ${key.mode}, 'login.failed',
          jsonb_build_object('userId', NULL, 'email', c.email, 'phone', c.phone, 'riskScore', c.risk_score, 'isVoip', ${IS_VOIP},
            'method', COALESCE(${isLink ? "magic_link" : null}::text, CASE WHEN c.identifier LIKE '+%' THEN 'sms_otp' ELSE 'email_otp' END), 'ip', ${clientIp}::text, 'reason', 'CODE_INVALID',
            'authRequestId', ${target.id}::text, 'attemptsRemaining', c.max_attempts - c.attempts),
          ${now}
        FROM c WHERE NOT c.ok
      ), fail_audit AS (
        INSERT INTO audit_log (tenant_id, id, mode, type, actor, ip, request_id, subject, details, created_at)
        SELECT ${key.tenantId}, v.id, ${key.mode}, v.type, ${audit.actor}::text, ${audit.ip}::text, ${audit.requestId}::text,
          ${target.id}::text,
          CASE v.k WHEN 1 THEN jsonb_build_object('reason', 'CODE_INVALID', 'attemptsRemaining', c.max_attempts - c.attempts)
                   WHEN 2 THEN '{}'::jsonb
                   ELSE jsonb_build_object('lockSeconds', ${policy.identifierLockSeconds}::int) END,
          ${now}
        FROM c, (VALUES (${randomId("aud")}, 'login.failed', 1), (${randomId("aud")}, 'auth_request.locked', 2),
          (${randomId("aud")}, 'identifier.locked', 3)) AS v (id, type, k)
        WHERE NOT c.ok AND (v.k = 1 OR (v.k = 2 AND c.attempts >= c.max_attempts)
          OR (v.k = 3 AND COALESCE((SELECT locked FROM fail), FALSE)))
        ORDER BY v.k
      )
      SELECT ${cCols}, c.ok, (SELECT open FROM lim_gate) AS gate_open, (SELECT hits FROM lim_l) AS lim_hits,
        u.id AS usr_id, u.email AS usr_email, u.phone AS usr_phone, u.email_verified_at AS usr_email_verified_at,
        u.phone_verified_at AS usr_phone_verified_at, u.created_at AS usr_created_at, u.last_login_at AS usr_last_login_at,
        u.inserted AS usr_inserted, (SELECT locked FROM fail) AS locked,
        CASE WHEN c.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lim_l)
             THEN sesame_refuse('guess limit taken by a racing verify') ELSE 0 END AS partial
      FROM (SELECT 1) AS one LEFT JOIN c ON TRUE LEFT JOIN u ON TRUE`.pipe(
      Effect.map((rows): ReadonlyArray<Row> | "raced" => rows),
      Effect.catchIf(isSqlError, (error) => isRefusal(error) ? Effect.succeed("raced" as const) : Effect.fail(error)),
      unavailable
    )
    const check = (identifier: string) => attempt.check(identifier)
    const refused = (identifier: string) =>
      unavailable(Effect.gen(function* () {
        const bucket = check(identifier)
        const current = yield* sql<{ bucket: string; hits: ReadonlyArray<number> }>`SELECT bucket, hits FROM rate_limits
          WHERE tenant_id = ${key.tenantId} AND bucket = ${bucket.bucket}`
        const rows = new Map(current.map((r) => [`l:${r.bucket}`, { ...r, head: null, counts: null, granted: null }]))
        return { _tag: "Refused", decision: refusalOf([bucket], rows, nowMs) } as const
      }))
    const row = rows === "raced" ? undefined : rows[0]
    if (row === undefined || row.id === null || row.ok === null) {
      // Nothing changed: say why (reads only).
      let seen: AuthRequestRow | undefined
      const why = yield* unavailable(explain(key, target.id, isLink ? proof.hash : null, now, (found) => {
        seen = found
        const wrongEmail = proof._tag === "Code" && found.channel === "sms" && found.email !== null && attempt.email !== found.email
        return wrongEmail ? { _tag: "WrongEmail" } as const : undefined
      }))
      if (seen !== undefined && why._tag === "NotFound" && (rows === "raced" || row?.gateOpen === false)) return yield* refused(seen.identifier)
      if (why._tag === "Verified" || why._tag === "Invalid") return yield* Effect.die(new Error("explain decided a verify"))
      return why
    }
    const request = rowOf(row)
    const decision = decisionOf([check(request.identifier)], [{ bucket: check(request.identifier).bucket, hits: row.limHits, head: null, counts: null, granted: null }], new Map(), nowMs)
    if (!row.ok) return { _tag: "Invalid", attemptsRemaining: request.maxAttempts - request.attempts, decision } satisfies Attempted
    if (row.usrId === null || row.usrCreatedAt === null) return yield* Effect.die(new Error("verified without a user"))
    const user: UserRow = {
      id: row.usrId, email: row.usrEmail, phone: row.usrPhone, emailVerifiedAt: row.usrEmailVerifiedAt,
      phoneVerifiedAt: row.usrPhoneVerifiedAt, createdAt: row.usrCreatedAt, lastLoginAt: row.usrLastLoginAt
    }
    if (!issueSession) {
      return {
        _tag: "SignedIn", request, signedIn: { user: toWireUser(user), isNewUser: row.usrInserted === true }, decision
      } satisfies Attempted
    }
    const { session, idToken } = yield* issueTokens(signer, {
      tenantId: key.tenantId, mode: key.mode, sessionId, user, amr: isLink ? ["link"] : ["otp", request.channel], policy,
      now, refreshToken, refreshExpiresAt, sessionExpiresAt, approval: request.approval
    })
    return {
      _tag: "SignedIn",
      request,
      signedIn: { user: toWireUser(user), isNewUser: row.usrInserted === true, session, idToken },
      decision
    } satisfies Attempted
  })

  return VerifyStore.of({ verify })
})

export const layer = Layer.effect(VerifyStore)(make)
