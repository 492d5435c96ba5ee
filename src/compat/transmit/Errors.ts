import { Effect, Schema } from "effect"

/**
 * Transmit's error body [outside seed: Transmit's published OpenAPI]: `{ message, error_code }`. The code
 * is a string for the conditions Transmit names (`auth_invalid_credentials`, `auth_otp_passcode_expired`,
 * `auth_locked`, `system_invalid_input`) and the HTTP status as a number otherwise, as in its bad-token
 * answer `{"message":"Invalid token","error_code":401}`.
 */
const declared = <const Status extends number>(status: Status, message: string) => [{
  message: Schema.String.pipe(Schema.withConstructorDefault(Effect.succeed(message))),
  error_code: Schema.Union([Schema.String, Schema.Number]).pipe(Schema.withConstructorDefault(Effect.succeed<string | number>(status)))
}, { httpApiStatus: status }] as const

export class TransmitBadRequest extends Schema.Error<TransmitBadRequest>("TransmitBadRequest")(
  ...declared(400, "Bad request")
) { readonly _tag = "TransmitBadRequest" }

export class TransmitUnauthorized extends Schema.Error<TransmitUnauthorized>("TransmitUnauthorized")(
  ...declared(401, "Invalid token")
) { readonly _tag = "TransmitUnauthorized" }

export class TransmitForbidden extends Schema.Error<TransmitForbidden>("TransmitForbidden")(
  ...declared(403, "Forbidden")
) { readonly _tag = "TransmitForbidden" }

export class TransmitNotFound extends Schema.Error<TransmitNotFound>("TransmitNotFound")(
  ...declared(404, "Not found")
) { readonly _tag = "TransmitNotFound" }

export class TransmitPayloadTooLarge extends Schema.Error<TransmitPayloadTooLarge>("TransmitPayloadTooLarge")(
  ...declared(413, "The request body is larger than 64 KiB.")
) { readonly _tag = "TransmitPayloadTooLarge" }

export class TransmitUnsupportedMediaType extends Schema.Error<TransmitUnsupportedMediaType>("TransmitUnsupportedMediaType")(
  ...declared(415, "The request body must be application/json.")
) { readonly _tag = "TransmitUnsupportedMediaType" }

export class TransmitTooManyRequests extends Schema.Error<TransmitTooManyRequests>("TransmitTooManyRequests")(
  ...declared(429, "Too many requests")
) { readonly _tag = "TransmitTooManyRequests" }

export class TransmitInternal extends Schema.Error<TransmitInternal>("TransmitInternal")(
  ...declared(500, "Internal server error")
) { readonly _tag = "TransmitInternal" }

export class TransmitBadGateway extends Schema.Error<TransmitBadGateway>("TransmitBadGateway")(
  ...declared(502, "The message could not be delivered.")
) { readonly _tag = "TransmitBadGateway" }

export class TransmitUnavailable extends Schema.Error<TransmitUnavailable>("TransmitUnavailable")(
  ...declared(503, "The service is temporarily unavailable. Try again shortly.")
) { readonly _tag = "TransmitUnavailable" }

/** Every Transmit error class, in the order a renderer looks them up. */
export const TransmitErrors = [
  TransmitBadRequest, TransmitUnauthorized, TransmitForbidden, TransmitNotFound, TransmitPayloadTooLarge,
  TransmitUnsupportedMediaType, TransmitTooManyRequests, TransmitInternal, TransmitBadGateway, TransmitUnavailable
] as const

export type TransmitError = InstanceType<typeof TransmitErrors[number]>
