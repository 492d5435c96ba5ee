import { Schema } from "effect"

/**
 * Auth1's error body (seed "Error Codes"): `{ error, message, statusCode }`, plus `retryAfter` (seconds)
 * on a 429 or 503. One class per HTTP status; `error` is the machine-readable code. The codes outside
 * the seed's table (NOT_FOUND, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, VALIDATION_ERROR, RISK_BLOCKED,
 * IP_NOT_ALLOWED, SCOPE_MISSING, CHANNEL_DISABLED) name what Auth1 has no code for.
 */
const declared = <const Status extends number, const Codes extends ReadonlyArray<string>>(status: Status, codes: Codes) =>
  [{
    error: Schema.Literals(codes),
    message: Schema.String,
    statusCode: Schema.tag(status),
    retryAfter: Schema.optionalKey(Schema.Int)
  }, { httpApiStatus: status }] as const

export class Auth1BadRequest extends Schema.Error<Auth1BadRequest>("Auth1BadRequest")(
  ...declared(400, ["INVALID_PHONE", "INVALID_EMAIL", "CODE_EXPIRED", "CODE_INVALID", "VALIDATION_ERROR"])
) { readonly _tag = "Auth1BadRequest" }

export class Auth1Unauthorized extends Schema.Error<Auth1Unauthorized>("Auth1Unauthorized")(
  ...declared(401, ["VALIDATION_APIKEY_NOTFOUND", "TOKEN_EXPIRED", "TOKEN_INVALID"])
) { readonly _tag = "Auth1Unauthorized" }

export class Auth1Forbidden extends Schema.Error<Auth1Forbidden>("Auth1Forbidden")(
  ...declared(403, ["VALIDATION_APIKEY_INACTIVE", "VOIP_NOT_ALLOWED", "RISK_BLOCKED", "IP_NOT_ALLOWED", "SCOPE_MISSING", "CHANNEL_DISABLED"])
) { readonly _tag = "Auth1Forbidden" }

export class Auth1NotFound extends Schema.Error<Auth1NotFound>("Auth1NotFound")(
  ...declared(404, ["NOT_FOUND"])
) { readonly _tag = "Auth1NotFound" }

export class Auth1PayloadTooLarge extends Schema.Error<Auth1PayloadTooLarge>("Auth1PayloadTooLarge")(
  ...declared(413, ["PAYLOAD_TOO_LARGE"])
) { readonly _tag = "Auth1PayloadTooLarge" }

export class Auth1UnsupportedMediaType extends Schema.Error<Auth1UnsupportedMediaType>("Auth1UnsupportedMediaType")(
  ...declared(415, ["UNSUPPORTED_MEDIA_TYPE"])
) { readonly _tag = "Auth1UnsupportedMediaType" }

export class Auth1TooManyRequests extends Schema.Error<Auth1TooManyRequests>("Auth1TooManyRequests")(
  ...declared(429, ["TOO_MANY_ATTEMPTS", "RATE_LIMIT_EXCEEDED"])
) { readonly _tag = "Auth1TooManyRequests" }

export class Auth1InternalError extends Schema.Error<Auth1InternalError>("Auth1InternalError")(
  ...declared(500, ["INTERNAL_ERROR"])
) { readonly _tag = "Auth1InternalError" }

export class Auth1DeliveryFailed extends Schema.Error<Auth1DeliveryFailed>("Auth1DeliveryFailed")(
  ...declared(502, ["SMS_DELIVERY_FAILED"])
) { readonly _tag = "Auth1DeliveryFailed" }

/** A passing outage (database): Auth1's INTERNAL_ERROR, with the status and Retry-After that say "try again". */
export class Auth1Unavailable extends Schema.Error<Auth1Unavailable>("Auth1Unavailable")(
  ...declared(503, ["INTERNAL_ERROR"])
) { readonly _tag = "Auth1Unavailable" }

/** Every error an Auth1 route can answer with (the guard and the key middleware can raise any of them). */
export const Auth1Errors = [
  Auth1BadRequest, Auth1Unauthorized, Auth1Forbidden, Auth1NotFound, Auth1PayloadTooLarge, Auth1UnsupportedMediaType,
  Auth1TooManyRequests, Auth1InternalError, Auth1DeliveryFailed, Auth1Unavailable
] as const

export type Auth1Error = InstanceType<typeof Auth1Errors[number]>

export const Auth1Error = Schema.Union(Auth1Errors)
