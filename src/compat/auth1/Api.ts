import { Context, Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { CurrentKey, RequiredScope } from "../../api/Security.ts"
import type { CurrentSession } from "../../api/Sessions.ts"
import {
  Auth1BadRequest, Auth1DeliveryFailed, Auth1Errors, Auth1Forbidden, Auth1TooManyRequests, Auth1Unauthorized, Auth1Unavailable
} from "./Errors.ts"

/**
 * Auth1 (seed 002): `https://auth-api.z101.ai/api/auth/…` served at `/compat/auth1/api/auth/…`. Send and
 * verify take the API key in `x-api-key`; session and logout take the access token as a Bearer; refresh
 * takes the refresh token in the body only.
 */
export const AUTH1_PREFIX = "/compat/auth1" as const

const Text = (max: number) => Schema.String.check(Schema.isMaxLength(max))

export const SmsRequest = Schema.Struct({
  /** E.164 */
  phone: Text(32),
  /** Bound to the request: verify must present the same address. */
  email: Text(320),
  /** Required by Auth1; the key already names the tenant, so the value is not compared. */
  tenant: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256))
})
export type SmsRequest = typeof SmsRequest.Type

export const SmsRequestResponse = Schema.Struct({
  /** The auth request's UUID alias. */
  phoneVerificationId: Schema.String,
  phoneType: Schema.Literals(["mobile", "landline", "voip"]),
  isVoip: Schema.Boolean,
  /** 0.0 (safe) to 1.0 (high risk). */
  riskScore: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  message: Schema.String,
  /** The provider that delivered the SMS (`twilio`, `webhook`; `test-outbox` for test keys). */
  provider: Schema.String
})
export type SmsRequestResponse = typeof SmsRequestResponse.Type

export const SmsVerify = Schema.Struct({
  phoneVerificationId: Text(64),
  verificationCode: Text(16),
  email: Text(320)
})
export type SmsVerify = typeof SmsVerify.Type

export const Auth1User = Schema.Struct({
  id: Schema.String,
  phone: Schema.NullOr(Schema.String),
  email: Schema.NullOr(Schema.String)
})
export type Auth1User = typeof Auth1User.Type

export const Auth1Tokens = Schema.Struct({
  user: Auth1User,
  /** The access JWT (1 hour by default). */
  token: Schema.String,
  /** `rt_…`, single use: each refresh returns the next one. */
  refreshToken: Schema.String
})
export type Auth1Tokens = typeof Auth1Tokens.Type

export const Auth1SessionInfo = Schema.Struct({
  user: Auth1User,
  /** When the access token presented expires (ISO 8601). */
  expiresAt: Schema.String
})
export type Auth1SessionInfo = typeof Auth1SessionInfo.Type

export const RefreshRequest = Schema.Struct({ refreshToken: Text(512) })

export const LogoutResponse = Schema.Struct({ success: Schema.Literal(true) })

/** The session behind the request's access token, and when that token expires. */
export class Auth1Session extends Context.Service<Auth1Session, {
  readonly session: CurrentSession["Service"]
  readonly expiresAt: Date
}>()("sesame/compat/Auth1Session") {}

/** Auth1's wording of `/v1`'s request guard (malformed JSON, NUL, nesting, defects). */
export class Auth1Guard extends HttpApiMiddleware.Service<Auth1Guard>()("sesame/compat/Auth1Guard", {
  error: Auth1Errors
}) {}

/** The API key in `x-api-key`, resolved as `/v1` resolves it (allowlist, scope, per-key limit, X-RateLimit-*). */
export class Auth1KeyAuth extends HttpApiMiddleware.Service<Auth1KeyAuth, { provides: CurrentKey }>()("sesame/compat/Auth1KeyAuth", {
  error: Auth1Errors,
  security: { apiKey: HttpApiSecurity.apiKey({ key: "x-api-key", in: "header" }) }
}) {}

/** The end user's access token (`Authorization: Bearer <token>`), never an API key. */
export class Auth1BearerAuth extends HttpApiMiddleware.Service<Auth1BearerAuth, { provides: Auth1Session }>()("sesame/compat/Auth1BearerAuth", {
  error: Auth1Errors,
  security: { accessToken: HttpApiSecurity.bearer }
}) {}

const api = (path: string) => `${AUTH1_PREFIX}/api/auth${path}` as const

export class Auth1Api extends HttpApiGroup.make("auth1")
  .add(
    HttpApiEndpoint.post("smsRequest", api("/sms/request"), {
      payload: SmsRequest,
      success: SmsRequestResponse,
      error: [Auth1BadRequest, Auth1Unauthorized, Auth1Forbidden, Auth1TooManyRequests, Auth1DeliveryFailed, Auth1Unavailable]
    }).annotate(RequiredScope, "passwordless:send").middleware(Auth1KeyAuth),
    HttpApiEndpoint.post("smsVerify", api("/sms/verify"), {
      payload: SmsVerify,
      success: Auth1Tokens,
      error: [Auth1BadRequest, Auth1Unauthorized, Auth1Forbidden, Auth1TooManyRequests, Auth1Unavailable]
    }).annotate(RequiredScope, "passwordless:verify").middleware(Auth1KeyAuth),
    HttpApiEndpoint.get("session", api("/session"), {
      success: Auth1SessionInfo,
      error: [Auth1Unauthorized, Auth1Unavailable]
    }).middleware(Auth1BearerAuth),
    HttpApiEndpoint.post("refresh", api("/refresh"), {
      payload: RefreshRequest,
      success: Auth1Tokens,
      error: [Auth1BadRequest, Auth1Unauthorized, Auth1Unavailable]
    }),
    HttpApiEndpoint.post("logout", api("/logout"), {
      success: LogoutResponse,
      error: [Auth1Unauthorized, Auth1Unavailable]
    }).middleware(Auth1BearerAuth)
  )
  .middleware(Auth1Guard) {}
