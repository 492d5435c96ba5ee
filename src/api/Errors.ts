import { Effect, Schema } from "effect"

/**
 * Every error a caller can see. The wire body is `{ code, message, status, …extras }` (API.md
 * "Errors"); `code` is the discriminator the derived client decodes by, and `_tag` lives only on the
 * prototype so `Effect.catchTag` works without putting it on the wire.
 */
const body = <const Code extends string, const Status extends number>(code: Code, status: Status, message: string) => ({
  code: Schema.tag(code),
  message: Schema.String.pipe(Schema.withConstructorDefault(Effect.succeed(message))),
  status: Schema.tag(status)
})

/**
 * An error's fields and its HTTP status, declared once: the status in the body and the one the
 * HttpApi answers with come from the same number.
 */
const declared = <const Code extends string, const Status extends number, const Extra extends Schema.Struct.Fields = {}>(
  code: Code,
  status: Status,
  message: string,
  extra?: Extra
) => [{ ...body(code, status, message), ...(extra ?? {} as Extra) }, { httpApiStatus: status }] as const

export class ValidationFailed extends Schema.Error<ValidationFailed>("ValidationFailed")(...declared("VALIDATION_FAILED", 400, "The request is not valid.", {
  field: Schema.optionalKey(Schema.String)
})) { readonly _tag = "ValidationFailed" }

export class InvalidEmail extends Schema.Error<InvalidEmail>("InvalidEmail")(
  ...declared("INVALID_EMAIL", 400, "The email address is not valid.")
) { readonly _tag = "InvalidEmail" }

export class InvalidPhone extends Schema.Error<InvalidPhone>("InvalidPhone")(
  ...declared("INVALID_PHONE", 400, "The phone number is not a valid E.164 number.")
) { readonly _tag = "InvalidPhone" }

export class RedirectNotAllowed extends Schema.Error<RedirectNotAllowed>("RedirectNotAllowed")(
  ...declared("REDIRECT_NOT_ALLOWED", 400, "The redirect URL is not on the tenant's allowlist.")
) { readonly _tag = "RedirectNotAllowed" }

export class ApiKeyMissing extends Schema.Error<ApiKeyMissing>("ApiKeyMissing")(
  ...declared("API_KEY_MISSING", 401, "An API key is required: send Authorization: Bearer sk_… or x-api-key.")
) { readonly _tag = "ApiKeyMissing" }

export class ApiKeyInvalid extends Schema.Error<ApiKeyInvalid>("ApiKeyInvalid")(
  ...declared("API_KEY_INVALID", 401, "The API key is unknown, revoked or expired.")
) { readonly _tag = "ApiKeyInvalid" }

export class IpNotAllowed extends Schema.Error<IpNotAllowed>("IpNotAllowed")(
  ...declared("IP_NOT_ALLOWED", 403, "The caller's address is not on this key's allowlist.")
) { readonly _tag = "IpNotAllowed" }

export class ScopeMissing extends Schema.Error<ScopeMissing>("ScopeMissing")(...declared("SCOPE_MISSING", 403, "The API key lacks the scope this endpoint needs.", {
  scope: Schema.optionalKey(Schema.String)
})) { readonly _tag = "ScopeMissing" }

export class ChannelDisabled extends Schema.Error<ChannelDisabled>("ChannelDisabled")(
  ...declared("CHANNEL_DISABLED", 403, "This channel or type is turned off for the tenant.")
) { readonly _tag = "ChannelDisabled" }

export class VoipNotAllowed extends Schema.Error<VoipNotAllowed>("VoipNotAllowed")(...declared("VOIP_NOT_ALLOWED", 403, "VOIP numbers are not accepted for sign-in.", {
  /** `challenge`: verify the email bound to this number first (send with channel "email"), then retry. */
  action: Schema.optionalKey(Schema.Literals(["block", "challenge"]))
})) { readonly _tag = "VoipNotAllowed" }

export class RiskBlocked extends Schema.Error<RiskBlocked>("RiskBlocked")(...declared("RISK_BLOCKED", 403, "This request was refused by fraud protection.", {
  riskScore: Schema.optionalKey(Schema.Number)
})) { readonly _tag = "RiskBlocked" }

export class NotFound extends Schema.Error<NotFound>("NotFound")(
  ...declared("NOT_FOUND", 404, "Not found.")
) { readonly _tag = "NotFound" }

export class CodeInvalid extends Schema.Error<CodeInvalid>("CodeInvalid")(...declared("CODE_INVALID", 400, "The code is not correct.", {
  attemptsRemaining: Schema.Int
})) { readonly _tag = "CodeInvalid" }

export class CodeExpired extends Schema.Error<CodeExpired>("CodeExpired")(
  ...declared("CODE_EXPIRED", 400, "The code has expired. Request a new one.")
) { readonly _tag = "CodeExpired" }

export class AlreadyUsed extends Schema.Error<AlreadyUsed>("AlreadyUsed")(
  ...declared("ALREADY_USED", 409, "This code or link was already used.")
) { readonly _tag = "AlreadyUsed" }

export class TooManyAttempts extends Schema.Error<TooManyAttempts>("TooManyAttempts")(...declared("TOO_MANY_ATTEMPTS", 429, "Too many wrong codes. Request a new one later.", {
  retryAfter: Schema.optionalKey(Schema.Int)
})) { readonly _tag = "TooManyAttempts" }

export class OriginMismatch extends Schema.Error<OriginMismatch>("OriginMismatch")(
  ...declared("ORIGIN_MISMATCH", 403, "This link must be completed where it was requested.")
) { readonly _tag = "OriginMismatch" }

export class ResendTooSoon extends Schema.Error<ResendTooSoon>("ResendTooSoon")(...declared("RESEND_TOO_SOON", 429, "Wait before asking for another message.", {
  retryAfter: Schema.Int
})) { readonly _tag = "ResendTooSoon" }

export class RateLimited extends Schema.Error<RateLimited>("RateLimited")(...declared("RATE_LIMITED", 429, "Too many requests.", {
  limit: Schema.String,
  retryAfter: Schema.Int
})) { readonly _tag = "RateLimited" }

export class TokenInvalid extends Schema.Error<TokenInvalid>("TokenInvalid")(
  ...declared("TOKEN_INVALID", 401, "The token is not valid.")
) { readonly _tag = "TokenInvalid" }

export class TokenExpired extends Schema.Error<TokenExpired>("TokenExpired")(
  ...declared("TOKEN_EXPIRED", 401, "The token has expired.")
) { readonly _tag = "TokenExpired" }

export class RefreshTokenReused extends Schema.Error<RefreshTokenReused>("RefreshTokenReused")(
  ...declared("REFRESH_TOKEN_REUSED", 401, "This refresh token was already used; its session has been revoked. Sign in again.")
) { readonly _tag = "RefreshTokenReused" }

export class DeliveryFailed extends Schema.Error<DeliveryFailed>("DeliveryFailed")(
  ...declared("DELIVERY_FAILED", 502, "The message could not be delivered.")
) { readonly _tag = "DeliveryFailed" }

export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("PayloadTooLarge")(
  ...declared("PAYLOAD_TOO_LARGE", 413, "The request body is larger than 64 KiB.")
) { readonly _tag = "PayloadTooLarge" }

export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("UnsupportedMediaType")(
  ...declared("UNSUPPORTED_MEDIA_TYPE", 415, "The request body must be application/json.")
) { readonly _tag = "UnsupportedMediaType" }

export class ServiceUnavailable extends Schema.Error<ServiceUnavailable>("ServiceUnavailable")(...declared("SERVICE_UNAVAILABLE", 503, "The service is temporarily unavailable. Try again shortly.", {
  retryAfter: Schema.Int
})) { readonly _tag = "ServiceUnavailable" }

export class Internal extends Schema.Error<Internal>("Internal")(
  ...declared("INTERNAL", 500, "An internal error occurred.")
) { readonly _tag = "Internal" }

/** Errors every `/v1` endpoint can answer with, whatever it does. */
export const CommonErrors = [ValidationFailed, ServiceUnavailable, PayloadTooLarge, UnsupportedMediaType, Internal] as const
