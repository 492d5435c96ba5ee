import { Schema } from "effect"

/**
 * Authink's error body (seed "Error Responses"): `{ error: { code, message, status, retry_after? } }`,
 * with `success: false` beside it when a verification fails (seed "Verify an OTP": `result.success`,
 * `result.error`). One class per HTTP status, the status declared once (body and HTTP answer).
 */
const envelope = <const Status extends number>(status: Status) => [{
  success: Schema.optionalKey(Schema.Literal(false)),
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    status: Schema.Literal(status),
    retry_after: Schema.optionalKey(Schema.Int)
  })
}, { httpApiStatus: status }] as const

export class AuthinkBadRequest extends Schema.Error<AuthinkBadRequest>("AuthinkBadRequest")(...envelope(400)) {
  readonly _tag = "AuthinkBadRequest"
}
export class AuthinkUnauthorized extends Schema.Error<AuthinkUnauthorized>("AuthinkUnauthorized")(...envelope(401)) {
  readonly _tag = "AuthinkUnauthorized"
}
export class AuthinkForbidden extends Schema.Error<AuthinkForbidden>("AuthinkForbidden")(...envelope(403)) {
  readonly _tag = "AuthinkForbidden"
}
export class AuthinkNotFound extends Schema.Error<AuthinkNotFound>("AuthinkNotFound")(...envelope(404)) {
  readonly _tag = "AuthinkNotFound"
}
export class AuthinkPayloadTooLarge extends Schema.Error<AuthinkPayloadTooLarge>("AuthinkPayloadTooLarge")(...envelope(413)) {
  readonly _tag = "AuthinkPayloadTooLarge"
}
export class AuthinkUnsupportedMediaType extends Schema.Error<AuthinkUnsupportedMediaType>("AuthinkUnsupportedMediaType")(...envelope(415)) {
  readonly _tag = "AuthinkUnsupportedMediaType"
}
export class AuthinkTooManyRequests extends Schema.Error<AuthinkTooManyRequests>("AuthinkTooManyRequests")(...envelope(429)) {
  readonly _tag = "AuthinkTooManyRequests"
}
export class AuthinkInternal extends Schema.Error<AuthinkInternal>("AuthinkInternal")(...envelope(500)) {
  readonly _tag = "AuthinkInternal"
}
export class AuthinkBadGateway extends Schema.Error<AuthinkBadGateway>("AuthinkBadGateway")(...envelope(502)) {
  readonly _tag = "AuthinkBadGateway"
}
export class AuthinkUnavailable extends Schema.Error<AuthinkUnavailable>("AuthinkUnavailable")(...envelope(503)) {
  readonly _tag = "AuthinkUnavailable"
}

export type AuthinkError =
  | AuthinkBadRequest | AuthinkUnauthorized | AuthinkForbidden | AuthinkNotFound | AuthinkPayloadTooLarge
  | AuthinkUnsupportedMediaType | AuthinkTooManyRequests | AuthinkInternal | AuthinkBadGateway | AuthinkUnavailable

export type AuthinkStatus = AuthinkError["error"]["status"]

/** What an Authink error says, whatever its status. */
export interface AuthinkFailure {
  readonly status: AuthinkStatus
  readonly code: string
  readonly message: string
  readonly retryAfter?: number | undefined
  /** Verification endpoints: `success: false` beside `error`. */
  readonly verify?: boolean
}

/** The error of `failure.status`, in Authink's body. */
export const authinkError = (failure: AuthinkFailure): AuthinkError => {
  const fields = <S extends AuthinkStatus>(status: S) => ({
    ...(failure.verify === true ? { success: false as const } : {}),
    error: {
      code: failure.code,
      message: failure.message,
      status,
      ...(failure.retryAfter === undefined ? {} : { retry_after: failure.retryAfter })
    }
  })
  switch (failure.status) {
    case 400: return new AuthinkBadRequest(fields(400))
    case 401: return new AuthinkUnauthorized(fields(401))
    case 403: return new AuthinkForbidden(fields(403))
    case 404: return new AuthinkNotFound(fields(404))
    case 413: return new AuthinkPayloadTooLarge(fields(413))
    case 415: return new AuthinkUnsupportedMediaType(fields(415))
    case 429: return new AuthinkTooManyRequests(fields(429))
    case 500: return new AuthinkInternal(fields(500))
    case 502: return new AuthinkBadGateway(fields(502))
    case 503: return new AuthinkUnavailable(fields(503))
  }
}

/**
 * Every Authink error, declared on the group's two middlewares: the code table (Product.ts) is total
 * over the native failures, so the types say any endpoint may answer with any of them.
 */
export const AuthinkErrors = [
  AuthinkBadRequest, AuthinkUnauthorized, AuthinkForbidden, AuthinkNotFound, AuthinkPayloadTooLarge, AuthinkUnsupportedMediaType,
  AuthinkTooManyRequests, AuthinkInternal, AuthinkBadGateway, AuthinkUnavailable
] as const
