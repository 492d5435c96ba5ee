import { Schema } from "effect"
import { edgeOf, type NativeFailure, type Product } from "../Kit.ts"
import { AUTH1_PREFIX } from "./Api.ts"
import {
  Auth1BadRequest, Auth1DeliveryFailed, Auth1Error, Auth1Forbidden, Auth1InternalError, Auth1NotFound, Auth1PayloadTooLarge,
  Auth1TooManyRequests, Auth1Unauthorized, Auth1Unavailable, Auth1UnsupportedMediaType
} from "./Errors.ts"

/** The seed's own wording where it documents one (its "Error Codes" table and 429 example). */
export const messages = {
  keyNotFound: "The x-api-key header is missing or the key does not exist.",
  keyRevoked: "API key has been deactivated.",
  keyExpired: "API key has expired.",
  invalidPhone: "Phone number is not in valid E.164 format.",
  invalidEmail: "Email address is malformed or empty.",
  codeExpired: "Verification code has expired. Please request a new one.",
  codeInvalid: "Verification code does not match.",
  tooManyAttempts: "Maximum verification attempts exceeded for this code. Request a new one.",
  deliveryFailed: "SMS could not be delivered. Phone may be invalid or unreachable.",
  internal: "An unexpected server error occurred. Contact support if persistent.",
  unavailable: "The service is temporarily unavailable. Please retry shortly.",
  rateLimited: (seconds: number) => `Too many requests. Please retry after ${seconds} seconds.`
} as const

/** `CODE_INVALID`: what Auth1 answers for a wrong code, an unknown id, a used code and a mismatched email. */
export const codeInvalid = () => new Auth1BadRequest({ error: "CODE_INVALID", message: messages.codeInvalid })

/** A request field Auth1 has a code for: a bad `phone` is INVALID_PHONE, a bad `email` INVALID_EMAIL. */
const invalidField = (field: string | undefined, message: string) =>
  field === "phone" ? new Auth1BadRequest({ error: "INVALID_PHONE", message })
  : field === "email" ? new Auth1BadRequest({ error: "INVALID_EMAIL", message })
  : new Auth1BadRequest({ error: "VALIDATION_ERROR", message })

/** The code table (COMPAT.md §3.3): every native failure as Auth1 words it. */
export const fromNative = (failure: NativeFailure): Auth1Error => {
  switch (failure._tag) {
    case "ApiKeyMissing":
    case "ApiKeyInvalid":
      return new Auth1Unauthorized({ error: "VALIDATION_APIKEY_NOTFOUND", message: messages.keyNotFound })
    case "KeyRefused":
      return failure.reason === "unknown"
        ? new Auth1Unauthorized({ error: "VALIDATION_APIKEY_NOTFOUND", message: messages.keyNotFound })
        : new Auth1Forbidden({
          error: "VALIDATION_APIKEY_INACTIVE",
          message: failure.reason === "revoked" ? messages.keyRevoked : messages.keyExpired
        })
    case "IpNotAllowed":
      return new Auth1Forbidden({ error: "IP_NOT_ALLOWED", message: failure.message })
    case "ScopeMissing":
      return new Auth1Forbidden({ error: "SCOPE_MISSING", message: failure.message })
    case "ChannelDisabled":
      return new Auth1Forbidden({ error: "CHANNEL_DISABLED", message: failure.message })
    case "VoipNotAllowed":
      return new Auth1Forbidden({ error: "VOIP_NOT_ALLOWED", message: failure.message })
    case "RiskBlocked":
      return new Auth1Forbidden({ error: "RISK_BLOCKED", message: failure.message })
    case "ValidationFailed":
      return invalidField(failure.field, failure.message)
    case "InvalidPhone":
      return new Auth1BadRequest({ error: "INVALID_PHONE", message: messages.invalidPhone })
    case "InvalidEmail":
      return new Auth1BadRequest({ error: "INVALID_EMAIL", message: messages.invalidEmail })
    case "RedirectNotAllowed":
      return new Auth1BadRequest({ error: "VALIDATION_ERROR", message: failure.message })
    case "CodeExpired":
      return new Auth1BadRequest({ error: "CODE_EXPIRED", message: messages.codeExpired })
    case "CodeInvalid":
    case "AlreadyUsed":
    case "OriginMismatch":
      return codeInvalid()
    case "NotFound":
      return new Auth1NotFound({ error: "NOT_FOUND", message: failure.message })
    case "TooManyAttempts":
      return new Auth1TooManyRequests({
        error: "TOO_MANY_ATTEMPTS", message: messages.tooManyAttempts,
        ...(failure.retryAfter === undefined ? {} : { retryAfter: failure.retryAfter })
      })
    case "RateLimited":
    case "ResendTooSoon":
      return new Auth1TooManyRequests({
        error: "RATE_LIMIT_EXCEEDED", message: messages.rateLimited(failure.retryAfter), retryAfter: failure.retryAfter
      })
    case "TokenInvalid":
    case "RefreshTokenReused":
      return new Auth1Unauthorized({ error: "TOKEN_INVALID", message: failure.message })
    case "TokenExpired":
      return new Auth1Unauthorized({ error: "TOKEN_EXPIRED", message: failure.message })
    case "DeliveryFailed":
      return new Auth1DeliveryFailed({ error: "SMS_DELIVERY_FAILED", message: messages.deliveryFailed })
    case "PayloadTooLarge":
      return new Auth1PayloadTooLarge({ error: "PAYLOAD_TOO_LARGE", message: failure.message })
    case "UnsupportedMediaType":
      return new Auth1UnsupportedMediaType({ error: "UNSUPPORTED_MEDIA_TYPE", message: failure.message })
    case "ServiceUnavailable":
      return new Auth1Unavailable({ error: "INTERNAL_ERROR", message: messages.unavailable, retryAfter: failure.retryAfter })
    case "Internal":
      return new Auth1InternalError({ error: "INTERNAL_ERROR", message: messages.internal })
  }
}

const encode = Schema.encodeSync(Auth1Error)

export const auth1: Product<Auth1Error> = {
  prefix: AUTH1_PREFIX,
  fromNative,
  render: (error) => ({ status: error.statusCode, body: encode(error) })
}

export const auth1Edge = edgeOf(auth1)
