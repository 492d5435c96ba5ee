import { Clock, DateTime, Effect, Schema } from "effect"
import { decodeJwt } from "jose"
import { NotFound, ValidationFailed } from "../../api/Errors.ts"
import type { ApiKeyView } from "../../api/Keys.ts"
import type { SendResponse, VerifyResponse } from "../../api/Passwordless.ts"
import type { CurrentKey } from "../../api/Security.ts"
import type { VerifySessionResponse } from "../../api/Sessions.ts"
import { ApiKeyId, type Scope, SessionId, UserId } from "../../domain/Ids.ts"
import { KeyAdmin } from "../../keys/KeyAdmin.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { SessionAdmin } from "../../sessions/SessionAdmin.ts"
import { translate } from "../Kit.ts"
import {
  type AuthinkKey, type CreateAuthinkKey, type CreatedAuthinkKey, scopeNames, type SendMagicLinkRequest, type SendOtpRequest,
  type SessionCheck, type Verified
} from "./Api.ts"
import { Authink, AuthinkVerify } from "./Product.ts"

type Caller = CurrentKey["Service"]

/** The seed's default subject (the native default differs). */
export const DEFAULT_SUBJECT = "Your verification code"
/** Magic links land on `redirectUrl?token=…`; `POST /magic-link/verify {token}` redeems it. */
export const LINK_PARAM = "token"

const isoOfSeconds = (seconds: number) => new Date(seconds * 1000).toISOString()

const sent = (answer: SendResponse) => ({ success: true as const, expiresAt: isoOfSeconds(answer.expiresAt) })

const verified = (answer: VerifyResponse): Verified => ({
  success: true,
  session: {
    token: answer.session.accessToken,
    expiresAt: isoOfSeconds(answer.session.expiresAt),
    user: { id: answer.user.id, email: answer.user.email },
    id: answer.session.id,
    ...(answer.authRequest.metadata === null ? {} : { metadata: answer.authRequest.metadata })
  }
})

/**
 * The token's own `exp` (what the verify answer called `expiresAt`); the native check has already
 * verified its signature, so reading the claim is all that is left.
 */
const tokenExpiry = (token: string, sessionEnd: string) =>
  Effect.sync(() => {
    const exp = decodeJwt(token).exp
    return exp === undefined ? sessionEnd : isoOfSeconds(exp)
  })

const checked = (token: string, answer: VerifySessionResponse): Effect.Effect<SessionCheck> => {
  const { user, session } = answer
  if (!answer.valid || user === undefined || session === undefined) return Effect.succeed({ valid: false })
  return Effect.map(tokenExpiry(token, session.expiresAt), (expiresAt) => ({
    valid: true,
    user: { id: user.id, email: user.email },
    expiresAt,
    sessionId: session.id
  }))
}

/** Native scope → the first Authink name that maps to it (`passwordless:send` lists as `otp:send`). */
const authinkScope = new Map<Scope, string>()
for (const [name, scope] of Object.entries(scopeNames)) if (!authinkScope.has(scope)) authinkScope.set(scope, name)

const keyOf = (view: ApiKeyView, nowMs: number): AuthinkKey => ({
  id: view.id,
  name: view.name,
  prefix: view.prefix,
  status: view.revokedAt !== null ? "revoked" : view.expiresAt !== null && view.expiresAt * 1000 <= nowMs ? "expired" : "active",
  scopes: [...new Set(view.scopes.map((scope) => authinkScope.get(scope) ?? scope))],
  created_at: view.createdAt,
  expires_at: view.expiresAt === null ? null : isoOfSeconds(view.expiresAt),
  last_used_at: view.lastUsedAt,
  ip_whitelist: view.ipAllowlist
})

/** The native create's wording of a field the caller named otherwise. */
const inAuthinkWords = <E>(error: E): E | ValidationFailed =>
  error instanceof ValidationFailed && error.field !== undefined && /^(ipAllowlist|expiresAt)/.test(error.field)
    ? new ValidationFailed({
      message: error.message.replace("ipAllowlist", "ipWhitelist").replace(" (Unix seconds)", ""),
      field: error.field.replace("ipAllowlist", "ipWhitelist")
    })
    : error

/** An id that is not a native one names nothing (404), like an unknown one. */
const byId = <S extends Schema.Constraint, A, E, R>(schema: S, id: string, f: (id: S["Type"]) => Effect.Effect<A, E, R>) =>
  Schema.is(schema)(id) ? f(id) : Effect.fail(new NotFound({}))

/**
 * Authink's calls on the native services: each one native call, its answer reshaped, its failures in
 * Authink's words (Product.ts). No rule is decided here.
 */
export const makeAuthink = Effect.gen(function* () {
  const pw = yield* Passwordless
  const sessions = yield* SessionAdmin
  const keys = yield* KeyAdmin
  const plain = translate(Authink)
  const verifying = translate(AuthinkVerify)

  return {
    sendOtp: (caller: Caller, body: SendOtpRequest) =>
      plain(Effect.map(pw.send(caller, {
        channel: "email",
        type: "OTP",
        email: body.email,
        ...(body.expiresIn === undefined ? {} : { expiresIn: body.expiresIn }),
        ...(body.length === undefined ? {} : { codeLength: body.length }),
        emailContent: { subject: body.subject ?? DEFAULT_SUBJECT },
        ...(body.metadata === undefined ? {} : { metadata: body.metadata })
      }), sent)),

    sendMagicLink: (caller: Caller, body: SendMagicLinkRequest) => {
      const redirectUrl = body.redirectUrl ?? body.redirect_url
      return plain(Effect.map(pw.send(caller, {
        channel: "email",
        type: "LINK",
        email: body.email,
        linkMode: "direct",
        linkParam: LINK_PARAM,
        ...(redirectUrl === undefined ? {} : { redirectUrl }),
        ...(body.expiresIn === undefined ? {} : { expiresIn: body.expiresIn }),
        ...(body.subject === undefined ? {} : { emailContent: { subject: body.subject } }),
        ...(body.metadata === undefined ? {} : { metadata: body.metadata })
      }), sent))
    },

    verifyOtp: (caller: Caller, body: { readonly email: string; readonly code: string }) =>
      verifying(Effect.map(pw.verify(caller, { email: body.email, code: body.code }), verified)),

    verifyMagicLink: (caller: Caller, token: string) =>
      verifying(Effect.map(pw.verify(caller, { linkToken: token }), verified)),

    verifySession: (caller: Caller, token: string) =>
      plain(Effect.flatMap(sessions.verify(caller, token), (answer) => checked(token, answer))),

    revokeSession: (caller: Caller, id: string) =>
      plain(Effect.as(byId(SessionId, id, (sessionId) => sessions.revoke(caller, sessionId)), { success: true as const })),

    revokeAllSessions: (caller: Caller, id: string) =>
      plain(Effect.map(byId(UserId, id, (userId) => sessions.revokeAll(caller, userId)), ({ revoked }) => ({ success: true as const, revoked }))),

    listKeys: (caller: Caller) =>
      plain(Effect.gen(function* () {
        const { keys: views } = yield* keys.list(caller)
        const nowMs = yield* Clock.currentTimeMillis
        return views.map((view) => keyOf(view, nowMs))
      })),

    createKey: (caller: Caller, body: CreateAuthinkKey) =>
      plain(Effect.gen(function* () {
        const created = yield* keys.create(caller, {
          name: body.name,
          scopes: [...new Set(body.scopes.map((name) => scopeNames[name]))],
          // a key creates keys of its own mode (live or test)
          mode: caller.mode,
          ...(body.expiresAt === undefined || body.expiresAt === null
            ? {}
            : { expiresAt: Math.floor(DateTime.toEpochMillis(body.expiresAt) / 1000) }),
          ...(body.ipWhitelist === undefined ? {} : { ipAllowlist: body.ipWhitelist })
        }).pipe(Effect.mapError(inAuthinkWords))
        return { key: created.secret, ...keyOf(created.key, yield* Clock.currentTimeMillis) } satisfies CreatedAuthinkKey
      })),

    revokeKey: (caller: Caller, id: string) =>
      plain(Effect.as(byId(ApiKeyId, id, (keyId) => keys.revoke(caller, keyId)), { success: true as const }))
  }
})
