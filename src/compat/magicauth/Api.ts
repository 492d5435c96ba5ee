import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, OpenApi } from "effect/http-api"
import {
  MagicAuthBadRequest, MagicAuthErrors, MagicAuthForbidden, MagicAuthInternal, MagicAuthTooManyRequests,
  MagicAuthUnauthorized, MagicAuthUnavailable
} from "./Errors.ts"

/** MagicAuth's base URL `https://magicauth.app/api` becomes `{SESAME}/compat/magicauth/api`. */
export const prefix = "/compat/magicauth"

// Every field is optional in the schema so a request without `app_key` is refused as MagicAuth does,
// 401 before any 400 (authentication first); the handler then asks for the fields it needs.
const AppKey = Schema.String.annotate({ description: "The Sesame API key (sk_live_… / sk_test_…), sent in the body as MagicAuth's app key." })

export const SendLinkRequest = Schema.Struct({
  email: Schema.optionalKey(Schema.String),
  app_key: Schema.optionalKey(AppKey),
  redirect_url: Schema.optionalKey(Schema.String.annotate({ description: "Must be on the tenant's redirect allowlist; the email links to redirect_url?magic_token=…" }))
})
export type SendLinkRequest = typeof SendLinkRequest.Type

export const SendLinkResponse = Schema.Struct({ success: Schema.Literal(true), message: Schema.String })

export const VerifyTokenRequest = Schema.Struct({
  token: Schema.optionalKey(Schema.String.annotate({ description: "The magic_token query parameter the link landed with." })),
  app_key: Schema.optionalKey(AppKey)
})
export type VerifyTokenRequest = typeof VerifyTokenRequest.Type

export const MagicAuthUser = Schema.Struct({
  /** An integer alias of the Sesame user (stable, never reused), as MagicAuth's clients store it. */
  id: Schema.Int,
  email: Schema.String,
  name: Schema.Null,
  email_verified_at: Schema.NullOr(Schema.String),
  last_login_at: Schema.NullOr(Schema.String)
})

export const VerifyTokenResponse = Schema.Struct({
  success: Schema.Literal(true),
  user: MagicAuthUser,
  /** The session's access token (a JWT). */
  token: Schema.String,
  redirect_url: Schema.String
})
export type VerifyTokenResponse = typeof VerifyTokenResponse.Type

const EndpointErrors = [
  MagicAuthBadRequest, MagicAuthUnauthorized, MagicAuthForbidden, MagicAuthTooManyRequests, MagicAuthInternal, MagicAuthUnavailable
] as const

/** MagicAuth's request guard: bad JSON, 413, 415 and defects answered in MagicAuth's words (compat/Kit.ts guardOf). */
export class MagicAuthGuard extends HttpApiMiddleware.Service<MagicAuthGuard>()("sesame/compat/MagicAuthGuard", {
  error: MagicAuthErrors
}) {}

export class MagicAuthApi extends HttpApiGroup.make("magicauth")
  .add(
    HttpApiEndpoint.post("sendLink", `${prefix}/api/send-link`, {
      payload: SendLinkRequest,
      success: SendLinkResponse,
      error: EndpointErrors
    }),
    HttpApiEndpoint.post("verifyToken", `${prefix}/api/verify-token`, {
      payload: VerifyTokenRequest,
      success: VerifyTokenResponse,
      error: EndpointErrors
    })
  )
  .annotate(OpenApi.Description, "MagicAuth compatibility (docs/compat.md): the key is app_key in the JSON body.")
  .middleware(MagicAuthGuard) {}
