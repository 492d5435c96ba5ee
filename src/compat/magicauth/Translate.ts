import { Effect } from "effect"
import { CurrentKey } from "../../api/Security.ts"
import type { Passwordless } from "../../passwordless/Passwordless.ts"
import type { UserStore } from "../../sessions/UserStore.ts"
import type { SendLinkRequest, VerifyTokenRequest, VerifyTokenResponse } from "./Api.ts"
import { MagicAuthBadRequest } from "./Errors.ts"
import { InvalidToken } from "./Product.ts"

/** MagicAuth's links live 15 minutes ("Each token can only be verified once and expires after 15 minutes"). */
const LINK_TTL_SECONDS = 900

const required = (value: string | undefined, field: string) =>
  value === undefined || value === ""
    ? Effect.fail(new MagicAuthBadRequest({ error: `Missing required field: ${field}` }))
    : Effect.succeed(value)

/** ISO 8601 to the second, as MagicAuth writes its timestamps ("2025-11-13T12:30:00Z"). */
const isoSeconds = (iso: string | null) => iso === null ? null : iso.replace(/\.\d+Z$/, "Z")

/**
 * `send-link`: a native LINK send that lands on `redirect_url?magic_token=<token>` whatever the tenant's
 * link mode (MagicAuth's "They're redirected to: …?magic_token=xxx"). The answer never says whether the
 * address has an account (native enumeration safety).
 */
export const sendLink = Effect.fn("MagicAuth.sendLink")(function* (pw: Passwordless["Service"], payload: SendLinkRequest) {
  const key = yield* CurrentKey
  const email = yield* required(payload.email, "email")
  const redirectUrl = yield* required(payload.redirect_url, "redirect_url")
  yield* pw.send(key, {
    channel: "email", type: "LINK", email, redirectUrl, expiresIn: LINK_TTL_SECONDS, linkMode: "direct", linkParam: "magic_token"
  })
  return { success: true, message: "Magic link sent" } as const
})

/**
 * `verify-token`: the native link verify (single use, expiry, limits, user, session, events, audit),
 * answered as MagicAuth's user with its integer id. A token no request has — unknown, malformed, or
 * issued under the other mode's key — is "Invalid token".
 */
export const verifyToken = Effect.fn("MagicAuth.verifyToken")(function* (
  pw: Passwordless["Service"],
  users: UserStore["Service"],
  payload: VerifyTokenRequest
) {
  const key = yield* CurrentKey
  const token = yield* required(payload.token, "token")
  const verified = yield* pw.verify(key, { linkToken: token }).pipe(
    Effect.catchTag("NotFound", () => Effect.fail(new MagicAuthBadRequest({ error: InvalidToken })))
  )
  const { user, session, authRequest } = verified
  const id = yield* users.numberOf(key, user.id)
  // a link sign-in has an email user and a redirect URL: anything else is a bug, not a caller's error
  if (id === undefined || user.email === null || authRequest.redirectUrl === null) {
    return yield* Effect.die(new Error("a link verify without its user number, email or redirect URL"))
  }
  return {
    success: true,
    user: {
      id, email: user.email, name: null,
      email_verified_at: isoSeconds(user.emailVerifiedAt), last_login_at: isoSeconds(user.lastLoginAt)
    },
    token: session.accessToken,
    redirect_url: authRequest.redirectUrl
  } satisfies VerifyTokenResponse
})
