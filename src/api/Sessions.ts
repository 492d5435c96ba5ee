import { Context, Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity } from "effect/http-api"
import { type Mode, SessionId, type TenantId, UserId } from "../domain/Ids.ts"
import { NotFound, RefreshTokenReused, ServiceUnavailable, TokenExpired, TokenInvalid } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"
import { Session, User } from "./Shapes.ts"

export const SessionInfo = Schema.Struct({
  id: SessionId,
  userId: UserId,
  createdAt: Schema.String,
  lastUsedAt: Schema.String,
  /** The absolute end of the session: no refresh extends it. */
  expiresAt: Schema.String,
  revokedAt: Schema.NullOr(Schema.String),
  amr: Schema.Array(Schema.String),
  ipAddress: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String)
})
export type SessionInfo = typeof SessionInfo.Type

// No length check in the schema: a malformed token of any length is TOKEN_INVALID (API.md), not
// VALIDATION_FAILED. The edge bounds the body; TokenSigner refuses an over-long token before parsing.
export const VerifySessionRequest = Schema.Struct({ token: Schema.String })

export const InvalidReason = Schema.Literals(["TOKEN_INVALID", "TOKEN_EXPIRED", "SESSION_REVOKED", "SESSION_EXPIRED"])
export type InvalidReason = typeof InvalidReason.Type

/** Like RFC 7662 introspection: an invalid token is an answer (`valid: false`), not an error of the caller. */
export const VerifySessionResponse = Schema.Struct({
  valid: Schema.Boolean,
  reason: Schema.optionalKey(InvalidReason),
  session: Schema.optionalKey(SessionInfo),
  user: Schema.optionalKey(User)
})
export type VerifySessionResponse = typeof VerifySessionResponse.Type

/** Any string: a malformed refresh token, of any length, is `401 TOKEN_INVALID` (its format is checked first). */
export const RefreshRequest = Schema.Struct({ refreshToken: Schema.String })
export const RefreshResponse = Schema.Struct({ session: Session, idToken: Schema.String, user: User })
export type RefreshResponse = typeof RefreshResponse.Type

/** OpenID Connect UserInfo (Core §5.3): standard claims, plus Sesame's own user object. */
export const UserInfo = Schema.Struct({
  sub: UserId,
  sid: SessionId,
  email: Schema.optionalKey(Schema.String),
  email_verified: Schema.optionalKey(Schema.Boolean),
  phone_number: Schema.optionalKey(Schema.String),
  phone_number_verified: Schema.optionalKey(Schema.Boolean),
  user: User
})
export type UserInfo = typeof UserInfo.Type

export const OpenIdConfiguration = Schema.Struct({
  issuer: Schema.String,
  jwks_uri: Schema.String,
  userinfo_endpoint: Schema.String,
  subject_types_supported: Schema.Array(Schema.String),
  id_token_signing_alg_values_supported: Schema.Array(Schema.String),
  token_endpoint_auth_methods_supported: Schema.Array(Schema.String),
  claims_supported: Schema.Array(Schema.String),
  scopes_supported: Schema.Array(Schema.String),
  claim_types_supported: Schema.Array(Schema.String)
})
export type OpenIdConfiguration = typeof OpenIdConfiguration.Type

/** The session behind the access token of the current request (`Authorization: Bearer <accessToken>`). */
export class CurrentSession extends Context.Service<CurrentSession, {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly sessionId: SessionId
  readonly userId: UserId
}>()("sesame/CurrentSession") {}

/** End-user endpoints: authenticated by the session's own access token, never by an API key. */
export class AccessTokenAuth extends HttpApiMiddleware.Service<AccessTokenAuth, { provides: CurrentSession }>()(
  "sesame/AccessTokenAuth",
  { error: [TokenInvalid, TokenExpired, ServiceUnavailable], security: { accessToken: HttpApiSecurity.bearer } }
) {}

const UserPath = { userId: UserId }

export class SessionsApi extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.post("verify", "/v1/sessions/verify", {
      payload: VerifySessionRequest,
      success: VerifySessionResponse,
      error: ServiceUnavailable
    }).annotate(RequiredScope, "sessions:read"),
    HttpApiEndpoint.get("list", "/v1/users/:userId/sessions", {
      params: UserPath,
      success: Schema.Struct({ sessions: Schema.Array(SessionInfo) }),
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "sessions:read"),
    HttpApiEndpoint.delete("revoke", "/v1/sessions/:sessionId", {
      params: { sessionId: SessionId },
      success: HttpApiSchema.NoContent,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "sessions:write"),
    HttpApiEndpoint.delete("revokeAll", "/v1/users/:userId/sessions", {
      params: UserPath,
      success: Schema.Struct({ revoked: Schema.Int }),
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "sessions:write")
  )
  .middleware(ApiKeyAuth) {}

export class TokenApi extends HttpApiGroup.make("token")
  .add(
    HttpApiEndpoint.post("refresh", "/v1/token/refresh", {
      payload: RefreshRequest,
      success: RefreshResponse,
      error: [TokenInvalid, TokenExpired, RefreshTokenReused, ServiceUnavailable]
    }),
    HttpApiEndpoint.post("logout", "/v1/logout", { success: HttpApiSchema.NoContent, error: ServiceUnavailable })
      .middleware(AccessTokenAuth),
    HttpApiEndpoint.get("userinfo", "/v1/userinfo", { success: UserInfo, error: [TokenInvalid, ServiceUnavailable] })
      .middleware(AccessTokenAuth)
  ) {}

/** One discovery document per issuer: live at PUBLIC_URL, test at PUBLIC_URL/test. */
export class OidcApi extends HttpApiGroup.make("oidc")
  .add(
    HttpApiEndpoint.get("configuration", "/.well-known/openid-configuration", { success: OpenIdConfiguration }),
    HttpApiEndpoint.get("testConfiguration", "/test/.well-known/openid-configuration", { success: OpenIdConfiguration })
  ) {}
