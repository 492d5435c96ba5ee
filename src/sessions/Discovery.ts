import { Context, Effect, Layer } from "effect"
import type { OpenIdConfiguration } from "../api/Sessions.ts"
import type { Mode } from "../domain/Ids.ts"
import { AppConfig } from "../platform/Config.ts"
import { issuerOf } from "./SigningKeys.ts"

/**
 * OpenID Connect Discovery 1.0 §3, one document per mode: each mode is its own issuer. `issuer` is
 * exactly every token's `iss` for that mode (SECURITY.md "Tokens"; a verifier compares them byte for
 * byte, §4.3), and the document sits at `${issuer}/.well-known/openid-configuration` (§4).
 */
export class Discovery extends Context.Service<Discovery, {
  readonly configuration: (mode: Mode) => Effect.Effect<OpenIdConfiguration>
}>()("sesame/Discovery") {}

export const layer = Layer.effect(Discovery)(
  Effect.map(AppConfig, ({ publicUrl }) => {
    const configuration = (mode: Mode): OpenIdConfiguration => {
      const issuer = issuerOf(publicUrl, mode)
      return {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        userinfo_endpoint: `${publicUrl}/v1/userinfo`,
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256"],
        token_endpoint_auth_methods_supported: ["none"],
        claims_supported: [
          "iss", "sub", "aud", "exp", "iat", "auth_time", "jti", "sid", "tid", "amr", "mode",
          "email", "email_verified", "phone_number", "phone_number_verified"
        ],
        scopes_supported: ["openid", "email", "phone"],
        claim_types_supported: ["normal"]
      }
    }
    const documents = { live: configuration("live"), test: configuration("test") }
    return Discovery.of({ configuration: (mode) => Effect.succeed(documents[mode]) })
  })
)
