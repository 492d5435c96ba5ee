import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { CurrentKey, RequiredScope } from "../../api/Security.ts"
import { TransmitErrors } from "./Errors.ts"
import {
  LinkAuthenticateRequest, LinkSendRequest, LinkSendResponse, OidcTokenForm, OidcTokenRequest, OidcTokenResponse, OtpAuthenticateRequest,
  OtpSendRequest, OtpSendResponse, Tokens
} from "./Schemas.ts"

/** Transmit's paths live under `{base}/cis`; a team swaps `https://api.transmitsecurity.io` for `{sesame}/compat/transmit`. */
export const TRANSMIT_PREFIX = "/compat/transmit" as const
export const TRANSMIT_TOKEN_PATH = `${TRANSMIT_PREFIX}/cis/oidc/token` as const

/**
 * The request guard in Transmit's words: malformed or invalid bodies (400 `system_invalid_input`), the
 * edge's 413/415, defects (500). It wraps every endpoint and words every native failure, so it declares
 * every Transmit error (Product.ts has the table).
 */
export class TransmitGuard extends HttpApiMiddleware.Service<TransmitGuard>()("sesame/compat/TransmitGuard", {
  error: TransmitErrors
}) {}

/**
 * `Authorization: Bearer <token>`: the Sesame key itself, or the ClientAccessToken that `/cis/oidc/token`
 * gave for it. Unknown, revoked and expired alike answer 401 `{"message":"Invalid token","error_code":401}`.
 */
export class TransmitKeyAuth extends HttpApiMiddleware.Service<TransmitKeyAuth, { provides: CurrentKey }>()("sesame/compat/TransmitKeyAuth", {
  error: TransmitErrors,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export class TransmitApi extends HttpApiGroup.make("transmit")
  .add(
    HttpApiEndpoint.post("linkSend", `${TRANSMIT_PREFIX}/cis/v1/auth/link/email/send`, {
      payload: LinkSendRequest,
      success: LinkSendResponse
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("linkAuthenticate", `${TRANSMIT_PREFIX}/cis/v1/auth/link/email/authenticate`, {
      payload: LinkAuthenticateRequest,
      success: Tokens
    }).annotate(RequiredScope, "passwordless:verify"),
    HttpApiEndpoint.post("otpSend", `${TRANSMIT_PREFIX}/cis/v1/auth/otp/send`, {
      payload: OtpSendRequest,
      success: OtpSendResponse
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("otpAuthenticate", `${TRANSMIT_PREFIX}/cis/v1/auth/otp/authenticate`, {
      payload: OtpAuthenticateRequest,
      success: Tokens
    }).annotate(RequiredScope, "passwordless:verify")
  )
  .middleware(TransmitKeyAuth)
  .add(
    // No key middleware: the form carries the key (client_secret), or a refresh token.
    HttpApiEndpoint.post("oidcToken", TRANSMIT_TOKEN_PATH, {
      payload: [OidcTokenForm, OidcTokenRequest],
      success: OidcTokenResponse
    })
  )
  .middleware(TransmitGuard) {}
