import { Clock, Context, Effect, Layer, Option } from "effect"
import { RefreshTokenReused, type ServiceUnavailable, TokenExpired, TokenInvalid } from "../api/Errors.ts"
import type { CurrentSession, RefreshResponse, UserInfo } from "../api/Sessions.ts"
import { randomToken, sha256 } from "../platform/Crypto.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { issueTokens } from "./IssueTokens.ts"
import { RefreshTokens } from "./RefreshTokens.ts"
import { SessionStore } from "./SessionStore.ts"
import { TokenSigner } from "./TokenSigner.ts"
import { toWireUser, UserStore } from "./UserStore.ts"

type Current = CurrentSession["Service"]

/** What the end user's app does with its own tokens: refresh, authenticate, log out, read its user. */
export class SessionTokens extends Context.Service<SessionTokens, {
  readonly refresh: (refreshToken: string) => Effect.Effect<RefreshResponse,
    TokenInvalid | TokenExpired | RefreshTokenReused | ServiceUnavailable>
  /** A valid access token whose session is neither revoked nor past its absolute end. */
  readonly authenticate: (accessToken: string) => Effect.Effect<Current, TokenInvalid | TokenExpired | ServiceUnavailable>
  readonly logout: (current: Current) => Effect.Effect<void, ServiceUnavailable>
  readonly userinfo: (current: Current) => Effect.Effect<UserInfo, TokenInvalid | ServiceUnavailable>
}>()("sesame/SessionTokens") {}

const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/

const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const make = Effect.gen(function*() {
  const store = yield* RefreshTokens
  const sessions = yield* SessionStore
  const users = yield* UserStore
  const signer = yield* TokenSigner
  const tenants = yield* Tenants

  const refresh = Effect.fn("SessionTokens.refresh")(function*(refreshToken: string) {
    if (!REFRESH_TOKEN.test(refreshToken)) return yield* new TokenInvalid({})
    const hash = sha256(refreshToken)
    const owner = yield* store.tenantOf(hash)
    if (owner === undefined) return yield* new TokenInvalid({})
    // A token always belongs to an existing tenant (no tenant is ever deleted), so a miss is a defect.
    const { policy } = (yield* tenants.get(owner.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))).modes[owner.mode]
    const now = yield* nowDate
    const next = `rt_${randomToken(32)}`
    const outcome = yield* store.rotate({
      hash,
      successor: sha256(next),
      now,
      refreshUntil: new Date(now.getTime() + policy.refreshTokenTtlSeconds * 1000)
    })
    switch (outcome._tag) {
      case "Unknown":
      case "Revoked":
        return yield* new TokenInvalid({})
      case "Expired":
        return yield* new TokenExpired({})
      case "Reused":
        return yield* new RefreshTokenReused({})
    }
    const { session, idToken } = yield* issueTokens(signer, {
      tenantId: outcome.tenantId,
      mode: outcome.mode,
      sessionId: outcome.sessionId,
      user: outcome.user,
      amr: outcome.amr,
      policy,
      now,
      refreshToken: next,
      refreshExpiresAt: outcome.refreshExpiresAt,
      sessionExpiresAt: outcome.sessionExpiresAt
    })
    return { session, idToken, user: toWireUser(outcome.user) }
  })

  const authenticate = Effect.fn("SessionTokens.authenticate")(function*(accessToken: string) {
    const now = yield* nowDate
    const claims = yield* signer.verifyAccess(accessToken, now)
    const session = yield* sessions.find(claims.tid, claims.sid)
    // A signature alone is not enough: a revoked session's tokens stop here, before they expire; and a
    // token of one mode never stands for a session of the other (each mode is its own issuer).
    if (session === undefined || session.mode !== claims.mode || session.userId !== claims.sub || session.revokedAt !== null) {
      return yield* new TokenInvalid({})
    }
    if (session.expiresAt.getTime() <= now.getTime()) return yield* new TokenExpired({})
    return { tenantId: claims.tid, mode: session.mode, sessionId: session.id, userId: session.userId }
  })

  const logout = Effect.fn("SessionTokens.logout")(function*(current: Current) {
    const now = yield* nowDate
    yield* sessions.revoke(current, { _tag: "Session", id: current.sessionId }, "logout", now)
  })

  const userinfo = Effect.fn("SessionTokens.userinfo")(function*(current: Current) {
    const found = yield* users.find(current, current.userId)
    if (Option.isNone(found)) return yield* new TokenInvalid({})
    const user = found.value
    return {
      sub: user.id,
      sid: current.sessionId,
      ...(user.email === null ? {} : { email: user.email, email_verified: user.emailVerifiedAt !== null }),
      ...(user.phone === null ? {} : { phone_number: user.phone, phone_number_verified: user.phoneVerifiedAt !== null }),
      user
    } satisfies UserInfo
  })

  return SessionTokens.of({ refresh, authenticate, logout, userinfo })
})

export const layer = Layer.effect(SessionTokens)(make)
