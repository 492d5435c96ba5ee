import type { NativeFailure, Product } from "../Kit.ts"
import { type AuthinkError, type AuthinkFailure, authinkError } from "./Errors.ts"

export const PREFIX = "/compat/authink"

const seconds = (n: number) => `${n} second${n === 1 ? "" : "s"}`

/**
 * COMPAT.md §1.4: the native failure in Authink's words. The seed names four codes (`rate_limit_exceeded`,
 * `expired`, `invalid`, `max_attempts`); the others are snake_case names of the native code.
 */
const failureOf = (failure: NativeFailure): Omit<AuthinkFailure, "verify"> => {
  switch (failure._tag) {
    case "ValidationFailed": return { status: 400, code: "invalid_request", message: failure.message }
    case "InvalidEmail": return { status: 400, code: "invalid_email", message: failure.message }
    case "InvalidPhone": return { status: 400, code: "invalid_phone", message: failure.message }
    case "RedirectNotAllowed": return { status: 400, code: "invalid_redirect_url", message: failure.message }
    // COMPAT.md §1.7.3: an already-used code is `invalid` (the seed has three verification codes)
    case "CodeInvalid": case "AlreadyUsed": return { status: 400, code: "invalid", message: failure.message }
    case "CodeExpired": return { status: 400, code: "expired", message: failure.message }
    case "ApiKeyMissing": return { status: 401, code: "unauthorized", message: "An API key is required: send Authorization: Bearer sk_…" }
    // unknown, revoked and expired keys look the same (the seed tells them apart nowhere)
    case "ApiKeyInvalid": case "KeyRefused": return { status: 401, code: "invalid_api_key", message: "The API key is unknown, revoked or expired." }
    case "TokenInvalid": return { status: 401, code: "invalid_token", message: failure.message }
    case "TokenExpired": return { status: 401, code: "token_expired", message: failure.message }
    case "RefreshTokenReused": return { status: 401, code: "invalid_token", message: failure.message }
    case "IpNotAllowed": return { status: 403, code: "ip_not_allowed", message: failure.message }
    case "ScopeMissing": return { status: 403, code: "insufficient_scope", message: failure.message }
    case "ChannelDisabled": return { status: 403, code: "channel_disabled", message: failure.message }
    case "VoipNotAllowed": return { status: 403, code: "voip_not_allowed", message: failure.message }
    case "RiskBlocked": return { status: 403, code: "risk_blocked", message: failure.message }
    case "OriginMismatch": return { status: 403, code: "origin_mismatch", message: failure.message }
    case "NotFound": return { status: 404, code: "not_found", message: failure.message }
    case "PayloadTooLarge": return { status: 413, code: "payload_too_large", message: failure.message }
    case "UnsupportedMediaType": return { status: 415, code: "unsupported_media_type", message: failure.message }
    case "TooManyAttempts":
      return { status: 429, code: "max_attempts", message: failure.message, retryAfter: failure.retryAfter }
    case "RateLimited": case "ResendTooSoon":
      // the seed's own wording: "Too many requests. Please try again in 60 seconds."
      return {
        status: 429, code: "rate_limit_exceeded", retryAfter: failure.retryAfter,
        message: `Too many requests. Please try again in ${seconds(failure.retryAfter)}.`
      }
    case "DeliveryFailed": return { status: 502, code: "delivery_failed", message: failure.message }
    case "ServiceUnavailable":
      return { status: 503, code: "service_unavailable", message: failure.message, retryAfter: failure.retryAfter }
    case "Internal": return { status: 500, code: "internal_error", message: failure.message }
  }
}

const render = (error: AuthinkError) => ({
  status: error.error.status,
  body: error.success === false ? { success: false, error: error.error } : { error: error.error }
})

/** Every Authink route but the verifications. */
export const Authink: Product<AuthinkError> = {
  prefix: PREFIX,
  fromNative: (failure) => authinkError(failureOf(failure)),
  render
}

/**
 * A verification's failure: no pending request for the email, or a code or token that cannot be one
 * (`"12a456"`, `"123"`: not 4 to 8 digits), is `invalid` like a wrong code (COMPAT.md §1.7.3: the seed
 * has three verification codes, and an Authink client shows "wrong code" on `invalid`).
 */
const verifyFailureOf = (failure: NativeFailure): Omit<AuthinkFailure, "verify"> => {
  if (failure._tag === "NotFound") return { status: 400, code: "invalid", message: "No pending code or link matches." }
  if (failure._tag === "ValidationFailed" && (failure.field === "code" || failure.field === "token")) {
    return { status: 400, code: "invalid", message: failure.message }
  }
  return failureOf(failure)
}

/**
 * The verifications (`otp/verify`, the `magic-link/verify` extension): `success: false` on every failure,
 * and no pending request for the email is `invalid` (COMPAT.md §1.7.3), not a 404.
 */
export const AuthinkVerify: Product<AuthinkError> = {
  prefix: PREFIX,
  fromNative: (failure) => authinkError({ ...verifyFailureOf(failure), verify: true }),
  render
}
