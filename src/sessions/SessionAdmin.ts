import { Clock, Context, Effect, Layer, Option } from "effect"
import { NotFound, type ServiceUnavailable } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import type { InvalidReason, SessionInfo, VerifySessionResponse } from "../api/Sessions.ts"
import type { SessionId, UserId } from "../domain/Ids.ts"
import { SessionStore, toSessionInfo } from "./SessionStore.ts"
import { TokenSigner } from "./TokenSigner.ts"
import { UserStore } from "./UserStore.ts"

type Caller = CurrentKey["Service"]

/** What the customer's backend does with sessions, with an API key: introspect, list, revoke. */
export class SessionAdmin extends Context.Service<SessionAdmin, {
  /** Signature, expiry, audience (the caller's tenant), mode AND revocation. */
  readonly verify: (caller: Caller, token: string) => Effect.Effect<VerifySessionResponse, ServiceUnavailable>
  readonly list: (caller: Caller, userId: UserId) => Effect.Effect<{ readonly sessions: ReadonlyArray<SessionInfo> },
    NotFound | ServiceUnavailable>
  readonly revoke: (caller: Caller, sessionId: SessionId) => Effect.Effect<void, NotFound | ServiceUnavailable>
  readonly revokeAll: (caller: Caller, userId: UserId) => Effect.Effect<{ readonly revoked: number },
    NotFound | ServiceUnavailable>
}>()("sesame/SessionAdmin") {}

const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
const invalid = (reason: InvalidReason): VerifySessionResponse => ({ valid: false, reason })

export const make = Effect.gen(function*() {
  const sessions = yield* SessionStore
  const users = yield* UserStore
  const signer = yield* TokenSigner

  const verify = Effect.fn("SessionAdmin.verify")(function*(caller: Caller, token: string) {
    const now = yield* nowDate
    const checked = yield* Effect.result(signer.verifyAccess(token, now, caller.tenantId))
    if (checked._tag === "Failure") return invalid(checked.failure._tag === "TokenExpired" ? "TOKEN_EXPIRED" : "TOKEN_INVALID")
    const claims = checked.success
    // A test key never learns anything about a live session, nor the reverse: the token's own mode
    // (its issuer's) must be the caller's, and so must its session's.
    if (claims.mode !== caller.mode) return invalid("TOKEN_INVALID")
    const session = yield* sessions.find(caller.tenantId, claims.sid)
    if (session === undefined || session.mode !== caller.mode || session.userId !== claims.sub) return invalid("TOKEN_INVALID")
    const user = yield* users.find(caller, session.userId)
    const found = { session: toSessionInfo(session), ...(Option.isSome(user) ? { user: user.value } : {}) }
    if (session.revokedAt !== null || Option.isNone(user)) return { valid: false, reason: "SESSION_REVOKED", ...found } as const
    if (session.expiresAt.getTime() <= now.getTime()) return { valid: false, reason: "SESSION_EXPIRED", ...found } as const
    return { valid: true, ...found }
  })

  const list = Effect.fn("SessionAdmin.list")(function*(caller: Caller, userId: UserId) {
    if (Option.isNone(yield* users.find(caller, userId))) return yield* new NotFound({})
    const rows = yield* sessions.listActive(caller, userId, yield* nowDate)
    return { sessions: rows.map(toSessionInfo) }
  })

  const revoke = Effect.fn("SessionAdmin.revoke")(function*(caller: Caller, sessionId: SessionId) {
    const result = yield* sessions.revoke(caller, { _tag: "Session", id: sessionId }, "revoked", yield* nowDate)
    if (!result.found) return yield* new NotFound({})
  })

  const revokeAll = Effect.fn("SessionAdmin.revokeAll")(function*(caller: Caller, userId: UserId) {
    const result = yield* sessions.revoke(caller, { _tag: "User", id: userId }, "revoked", yield* nowDate)
    if (!result.found) return yield* new NotFound({})
    return { revoked: result.revoked }
  })

  return SessionAdmin.of({ verify, list, revoke, revokeAll })
})

export const layer = Layer.effect(SessionAdmin)(make)
