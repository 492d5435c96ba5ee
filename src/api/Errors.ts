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

export class ValidationFailed extends Schema.Error<ValidationFailed>("ValidationFailed")({
  ...body("VALIDATION_FAILED", 400, "The request is not valid."),
  field: Schema.optionalKey(Schema.String)
}, { httpApiStatus: 400 }) { readonly _tag = "ValidationFailed" }

export class InvalidEmail extends Schema.Error<InvalidEmail>("InvalidEmail")(
  body("INVALID_EMAIL", 400, "The email address is not valid."), { httpApiStatus: 400 }
) { readonly _tag = "InvalidEmail" }

export class InvalidPhone extends Schema.Error<InvalidPhone>("InvalidPhone")(
  body("INVALID_PHONE", 400, "The phone number is not a valid E.164 number."), { httpApiStatus: 400 }
) { readonly _tag = "InvalidPhone" }

export class RedirectNotAllowed extends Schema.Error<RedirectNotAllowed>("RedirectNotAllowed")(
  body("REDIRECT_NOT_ALLOWED", 400, "The redirect URL is not on the tenant's allowlist."), { httpApiStatus: 400 }
) { readonly _tag = "RedirectNotAllowed" }

export class ApiKeyMissing extends Schema.Error<ApiKeyMissing>("ApiKeyMissing")(
  body("API_KEY_MISSING", 401, "An API key is required: send Authorization: Bearer sk_… or x-api-key."),
  { httpApiStatus: 401 }
) { readonly _tag = "ApiKeyMissing" }

export class ApiKeyInvalid extends Schema.Error<ApiKeyInvalid>("ApiKeyInvalid")(
  body("API_KEY_INVALID", 401, "The API key is unknown, revoked or expired."), { httpApiStatus: 401 }
) { readonly _tag = "ApiKeyInvalid" }

export class IpNotAllowed extends Schema.Error<IpNotAllowed>("IpNotAllowed")(
  body("IP_NOT_ALLOWED", 403, "The caller's address is not on this key's allowlist."), { httpApiStatus: 403 }
) { readonly _tag = "IpNotAllowed" }

export class ScopeMissing extends Schema.Error<ScopeMissing>("ScopeMissing")({
  ...body("SCOPE_MISSING", 403, "The API key lacks the scope this endpoint needs."),
  scope: Schema.optionalKey(Schema.String)
}, { httpApiStatus: 403 }) { readonly _tag = "ScopeMissing" }

export class ChannelDisabled extends Schema.Error<ChannelDisabled>("ChannelDisabled")(
  body("CHANNEL_DISABLED", 403, "This channel or type is turned off for the tenant."), { httpApiStatus: 403 }
) { readonly _tag = "ChannelDisabled" }

export class VoipNotAllowed extends Schema.Error<VoipNotAllowed>("VoipNotAllowed")({
  ...body("VOIP_NOT_ALLOWED", 403, "VOIP numbers are not accepted for sign-in."),
  /** `challenge`: verify the email bound to this number first (send with channel "email"), then retry. */
  action: Schema.optionalKey(Schema.Literals(["block", "challenge"]))
}, { httpApiStatus: 403 }) { readonly _tag = "VoipNotAllowed" }

export class RiskBlocked extends Schema.Error<RiskBlocked>("RiskBlocked")({
  ...body("RISK_BLOCKED", 403, "This request was refused by fraud protection."),
  riskScore: Schema.optionalKey(Schema.Number)
}, { httpApiStatus: 403 }) { readonly _tag = "RiskBlocked" }

export class NotFound extends Schema.Error<NotFound>("NotFound")(
  body("NOT_FOUND", 404, "Not found."), { httpApiStatus: 404 }
) { readonly _tag = "NotFound" }

export class CodeInvalid extends Schema.Error<CodeInvalid>("CodeInvalid")({
  ...body("CODE_INVALID", 400, "The code is not correct."),
  attemptsRemaining: Schema.Int
}, { httpApiStatus: 400 }) { readonly _tag = "CodeInvalid" }

export class CodeExpired extends Schema.Error<CodeExpired>("CodeExpired")(
  body("CODE_EXPIRED", 400, "The code has expired. Request a new one."), { httpApiStatus: 400 }
) { readonly _tag = "CodeExpired" }

export class AlreadyUsed extends Schema.Error<AlreadyUsed>("AlreadyUsed")(
  body("ALREADY_USED", 409, "This code or link was already used."), { httpApiStatus: 409 }
) { readonly _tag = "AlreadyUsed" }

export class TooManyAttempts extends Schema.Error<TooManyAttempts>("TooManyAttempts")({
  ...body("TOO_MANY_ATTEMPTS", 429, "Too many wrong codes. Request a new one later."),
  retryAfter: Schema.optionalKey(Schema.Int)
}, { httpApiStatus: 429 }) { readonly _tag = "TooManyAttempts" }

export class OriginMismatch extends Schema.Error<OriginMismatch>("OriginMismatch")(
  body("ORIGIN_MISMATCH", 403, "This link must be completed where it was requested."), { httpApiStatus: 403 }
) { readonly _tag = "OriginMismatch" }

export class ResendTooSoon extends Schema.Error<ResendTooSoon>("ResendTooSoon")({
  ...body("RESEND_TOO_SOON", 429, "Wait before asking for another message."),
  retryAfter: Schema.Int
}, { httpApiStatus: 429 }) { readonly _tag = "ResendTooSoon" }

export class RateLimited extends Schema.Error<RateLimited>("RateLimited")({
  ...body("RATE_LIMITED", 429, "Too many requests."),
  limit: Schema.String,
  retryAfter: Schema.Int
}, { httpApiStatus: 429 }) { readonly _tag = "RateLimited" }

export class TokenInvalid extends Schema.Error<TokenInvalid>("TokenInvalid")(
  body("TOKEN_INVALID", 401, "The token is not valid."), { httpApiStatus: 401 }
) { readonly _tag = "TokenInvalid" }

export class TokenExpired extends Schema.Error<TokenExpired>("TokenExpired")(
  body("TOKEN_EXPIRED", 401, "The token has expired."), { httpApiStatus: 401 }
) { readonly _tag = "TokenExpired" }

export class RefreshTokenReused extends Schema.Error<RefreshTokenReused>("RefreshTokenReused")(
  body("REFRESH_TOKEN_REUSED", 401, "This refresh token was already used; its session has been revoked. Sign in again."),
  { httpApiStatus: 401 }
) { readonly _tag = "RefreshTokenReused" }

export class DeliveryFailed extends Schema.Error<DeliveryFailed>("DeliveryFailed")(
  body("DELIVERY_FAILED", 502, "The message could not be delivered."), { httpApiStatus: 502 }
) { readonly _tag = "DeliveryFailed" }

export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("PayloadTooLarge")(
  body("PAYLOAD_TOO_LARGE", 413, "The request body is larger than 64 KiB."), { httpApiStatus: 413 }
) { readonly _tag = "PayloadTooLarge" }

export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("UnsupportedMediaType")(
  body("UNSUPPORTED_MEDIA_TYPE", 415, "The request body must be application/json."), { httpApiStatus: 415 }
) { readonly _tag = "UnsupportedMediaType" }

export class ServiceUnavailable extends Schema.Error<ServiceUnavailable>("ServiceUnavailable")({
  ...body("SERVICE_UNAVAILABLE", 503, "The service is temporarily unavailable. Try again shortly."),
  retryAfter: Schema.Int
}, { httpApiStatus: 503 }) { readonly _tag = "ServiceUnavailable" }

export class Internal extends Schema.Error<Internal>("Internal")(
  body("INTERNAL", 500, "An internal error occurred."), { httpApiStatus: 500 }
) { readonly _tag = "Internal" }

/** Errors every `/v1` endpoint can answer with, whatever it does. */
export const CommonErrors = [ValidationFailed, ServiceUnavailable, PayloadTooLarge, UnsupportedMediaType, Internal] as const
