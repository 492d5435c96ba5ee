import { edgeOf, type NativeFailure, type Product } from "../Kit.ts"
import { prefix } from "./Api.ts"
import {
  MagicAuthBadRequest, type MagicAuthError, MagicAuthForbidden, MagicAuthInternal, MagicAuthNotFound, MagicAuthPayloadTooLarge,
  MagicAuthTooManyRequests, MagicAuthUnauthorized, MagicAuthUnavailable, MagicAuthUnsupportedMediaType, statusOf
} from "./Errors.ts"

/** The three strings MagicAuth documents for a token that does not sign in. */
export const InvalidToken = "Invalid token"
export const TokenAlreadyUsed = "Token already used"
export const TokenExpired = "Token expired"

/**
 * MagicAuth's code table (COMPAT.md §4.3). Authentication before anything else: no or a bad key is 401
 * whatever the reason (unknown, revoked, expired: MagicAuth has one "Invalid app_key"); a redirect off
 * the allowlist is 403 ("redirect URL not whitelisted"); every way a token fails is 400 with one of
 * the three documented strings. NOT_FOUND here is an unknown route: verify-token turns its own
 * NOT_FOUND (no request for that token) into "Invalid token" before it gets here.
 */
const fromNative = (failure: NativeFailure): MagicAuthError => {
  switch (failure._tag) {
    case "ValidationFailed":
    case "InvalidPhone":
      return new MagicAuthBadRequest({ error: failure.message })
    case "InvalidEmail":
      return new MagicAuthBadRequest({ error: "Invalid email address" })
    case "CodeInvalid":
      return new MagicAuthBadRequest({ error: InvalidToken })
    case "CodeExpired":
      return new MagicAuthBadRequest({ error: TokenExpired })
    case "AlreadyUsed":
      return new MagicAuthBadRequest({ error: TokenAlreadyUsed })
    case "ApiKeyMissing":
      return new MagicAuthUnauthorized({ error: "app_key is required" })
    case "ApiKeyInvalid":
    case "KeyRefused":
      return new MagicAuthUnauthorized({})
    case "TokenInvalid":
    case "TokenExpired":
    case "RefreshTokenReused":
      return new MagicAuthUnauthorized({ error: failure.message })
    case "RedirectNotAllowed":
      return new MagicAuthForbidden({ error: "Redirect URL not whitelisted" })
    case "IpNotAllowed":
      return new MagicAuthForbidden({ error: "This app_key may not be used from this IP address" })
    case "ScopeMissing":
      return new MagicAuthForbidden({ error: failure.scope === undefined ? "This app_key lacks a required scope" : `This app_key lacks the scope ${failure.scope}` })
    case "OriginMismatch":
      return new MagicAuthForbidden({ error: "Same-origin links are required for this app; verify-token cannot complete them" })
    case "ChannelDisabled":
    case "VoipNotAllowed":
    case "RiskBlocked":
      return new MagicAuthForbidden({ error: failure.message })
    case "NotFound":
      return new MagicAuthNotFound({})
    case "TooManyAttempts":
    case "ResendTooSoon":
    case "RateLimited":
      return new MagicAuthTooManyRequests({})
    case "PayloadTooLarge":
      return new MagicAuthPayloadTooLarge({})
    case "UnsupportedMediaType":
      return new MagicAuthUnsupportedMediaType({})
    case "ServiceUnavailable":
      return new MagicAuthUnavailable({})
    case "DeliveryFailed":
      return new MagicAuthInternal({ error: "The magic link could not be delivered" })
    case "Internal":
      return new MagicAuthInternal({})
  }
}

export const magicAuth: Product<MagicAuthError> = {
  prefix,
  fromNative,
  render: (error) => ({ status: statusOf[error._tag], body: { success: false, error: error.error } })
}

export const magicAuthEdge = edgeOf(magicAuth)
