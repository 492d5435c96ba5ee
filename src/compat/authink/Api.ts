import { Context, Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { CreateKeyRequest } from "../../api/Keys.ts"
import { EmailContent, SendRequest, VerifyRequest } from "../../api/Passwordless.ts"
import { CurrentKey, RequiredScope } from "../../api/Security.ts"
import { VerifySessionRequest } from "../../api/Sessions.ts"
import { AuthinkErrors } from "./Errors.ts"

/** Authink's request guard: malformed JSON, 413, 415 and defects in Authink's error body. */
export class AuthinkGuard extends HttpApiMiddleware.Service<AuthinkGuard>()("sesame/compat/AuthinkGuard", {
  error: AuthinkErrors
}) {}

/** `Authorization: Bearer sk_live_…`: the Sesame key as is (COMPAT.md §0.2). */
export class AuthinkKeyAuth extends HttpApiMiddleware.Service<AuthinkKeyAuth, { provides: CurrentKey }>()("sesame/compat/AuthinkKeyAuth", {
  error: AuthinkErrors,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** A verification endpoint: every failure carries `success: false`, the guard's and the key check's included. */
export const Verification = Context.Reference<boolean>("sesame/compat/AuthinkVerification", { defaultValue: () => false })

// The native fields' own schemas, so the limits are the native ones.
const Email = SendRequest.fields.email.schema
const Metadata = SendRequest.fields.metadata

export const SendOtpRequest = Schema.Struct({
  email: Email,
  /** Seed: 60–900 s (the native OTP range); absent: the tenant's OTP lifetime (default 300). */
  expiresIn: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 60, maximum: 900 }))),
  length: SendRequest.fields.codeLength,
  /** Absent: "Your verification code" (the seed's default). */
  subject: EmailContent.fields.subject,
  metadata: Metadata
})
export type SendOtpRequest = typeof SendOtpRequest.Type

/** Undocumented by the seed (COMPAT.md §1.2 A3); `redirect_url` is accepted as an alias. */
export const SendMagicLinkRequest = Schema.Struct({
  email: Email,
  redirectUrl: SendRequest.fields.redirectUrl,
  redirect_url: SendRequest.fields.redirectUrl,
  /** 60–3600 s; absent: the tenant's link lifetime (default 900). */
  expiresIn: SendRequest.fields.expiresIn,
  subject: EmailContent.fields.subject,
  metadata: Metadata
})
export type SendMagicLinkRequest = typeof SendMagicLinkRequest.Type

/** Send answers are undocumented (COMPAT.md §1.7.1). */
export const Sent = Schema.Struct({ success: Schema.Literal(true), expiresAt: Schema.String })

export const VerifyOtpRequest = Schema.Struct({ email: Email, code: VerifyRequest.fields.code.schema })
export const VerifyMagicLinkRequest = Schema.Struct({ token: VerifyRequest.fields.linkToken.schema })

export const AuthinkUser = Schema.Struct({ id: Schema.String, email: Schema.NullOr(Schema.String) })

export const Verified = Schema.Struct({
  success: Schema.Literal(true),
  session: Schema.Struct({
    /** The access token (a JWT). */
    token: Schema.String,
    expiresAt: Schema.String,
    user: AuthinkUser,
    /** Extension: the session id (`DELETE /sessions/:id`), the token's `sid` claim. */
    id: Schema.String,
    /** Extension: the `metadata` sent with the code or link ("stored with the OTP for later retrieval"). */
    metadata: Schema.optionalKey(Schema.Record(Schema.String, Schema.Json))
  })
})
export type Verified = typeof Verified.Type

/** An invalid, expired or revoked token is an answer, `{ valid: false }`, not an error (COMPAT.md §1.7.5). */
export const SessionCheck = Schema.Struct({
  valid: Schema.Boolean,
  user: Schema.optionalKey(AuthinkUser),
  expiresAt: Schema.optionalKey(Schema.String),
  /** Extension: the session's id, for `DELETE /sessions/:id`. */
  sessionId: Schema.optionalKey(Schema.String)
})
export type SessionCheck = typeof SessionCheck.Type

export const Done = Schema.Struct({ success: Schema.Literal(true) })
export const RevokedAll = Schema.Struct({ success: Schema.Literal(true), revoked: Schema.Int })

/**
 * Authink's scope names (seed: `otp:send`, `otp:verify`, `sessions:read`) and their native scopes; the
 * native names are accepted too. Several names share a native scope, so a listing shows the first.
 * A name is only here if its native scope grants nothing it does not name: `keys:read` is not (the
 * only native key scope, `keys:manage`, also creates and revokes keys), so asking for it is a 400.
 */
export const scopeNames = {
  "otp:send": "passwordless:send",
  "otp:verify": "passwordless:verify",
  "sessions:read": "sessions:read",
  "sessions:write": "sessions:write",
  "keys:manage": "keys:manage",
  "users:read": "users:read",
  "users:write": "users:write",
  "webhooks:manage": "webhooks:manage",
  "tenant:manage": "tenant:manage",
  "magic_link:send": "passwordless:send",
  "sessions:revoke": "sessions:write",
  "keys:write": "keys:manage",
  "passwordless:send": "passwordless:send",
  "passwordless:verify": "passwordless:verify"
} as const
export const AuthinkScope = Schema.Literals(Object.keys(scopeNames) as Array<keyof typeof scopeNames>)

export const CreateAuthinkKey = Schema.Struct({
  name: CreateKeyRequest.fields.name,
  scopes: Schema.Array(AuthinkScope).check(Schema.isMinLength(1), Schema.isMaxLength(20)),
  /** `null` or absent: no expiry. */
  expiresAt: Schema.optionalKey(Schema.NullOr(Schema.DateTimeUtcFromString)),
  ipWhitelist: CreateKeyRequest.fields.ipAllowlist
})
export type CreateAuthinkKey = typeof CreateAuthinkKey.Type

/** A key as Authink lists it (seed: "name, prefix, status, created_at"); never its secret. */
export const AuthinkKey = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  prefix: Schema.String,
  status: Schema.Literals(["active", "revoked", "expired"]),
  scopes: Schema.Array(Schema.String),
  created_at: Schema.String,
  expires_at: Schema.NullOr(Schema.String),
  last_used_at: Schema.NullOr(Schema.String),
  ip_whitelist: Schema.Array(Schema.String)
})
export type AuthinkKey = typeof AuthinkKey.Type

/** The created key: `key` is the secret, shown once. */
export const CreatedAuthinkKey = Schema.Struct({ key: Schema.String, ...AuthinkKey.fields })
export type CreatedAuthinkKey = typeof CreatedAuthinkKey.Type

const IdPath = { id: Schema.String.check(Schema.isMaxLength(64)) }

/** Authink (seed 000) under `/compat/authink/v1`: the seed's seven REST endpoints, its two SDK-only calls, one extension. */
export class AuthinkApi extends HttpApiGroup.make("authink")
  .add(
    HttpApiEndpoint.post("sendOtp", "/otp/send", { payload: SendOtpRequest, success: Sent })
      .annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("verifyOtp", "/otp/verify", { payload: VerifyOtpRequest, success: Verified })
      .annotate(RequiredScope, "passwordless:verify")
      .annotate(Verification, true),
    HttpApiEndpoint.post("sendMagicLink", "/magic-link/send", { payload: SendMagicLinkRequest, success: Sent })
      .annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("verifyMagicLink", "/magic-link/verify", { payload: VerifyMagicLinkRequest, success: Verified })
      .annotate(RequiredScope, "passwordless:verify")
      .annotate(Verification, true)
      .annotate(OpenApi.Description, "Extension (not in Authink's documentation): redeems the token of a magic link's `?token=`."),
    HttpApiEndpoint.post("verifySession", "/sessions/verify", { payload: VerifySessionRequest, success: SessionCheck })
      .annotate(RequiredScope, "sessions:read"),
    HttpApiEndpoint.delete("revokeSession", "/sessions/:id", { params: IdPath, success: Done })
      .annotate(RequiredScope, "sessions:write"),
    HttpApiEndpoint.delete("revokeAllSessions", "/users/:id/sessions", { params: IdPath, success: RevokedAll })
      .annotate(RequiredScope, "sessions:write"),
    HttpApiEndpoint.get("listKeys", "/keys", { success: Schema.Array(AuthinkKey) })
      .annotate(RequiredScope, "keys:manage"),
    HttpApiEndpoint.post("createKey", "/keys", {
      payload: CreateAuthinkKey,
      success: CreatedAuthinkKey.pipe(Schema.annotate({ httpApiStatus: 201 }))
    }).annotate(RequiredScope, "keys:manage"),
    HttpApiEndpoint.delete("revokeKey", "/keys/:id", { params: IdPath, success: Done })
      .annotate(RequiredScope, "keys:manage")
  )
  .prefix(`/compat/authink/v1`)
  .middleware(AuthinkKeyAuth)
  .middleware(AuthinkGuard)
  .annotate(OpenApi.Description, "Authink compatibility (docs/compat.md): change the base URL to {PUBLIC_URL}/compat/authink/v1.") {}
