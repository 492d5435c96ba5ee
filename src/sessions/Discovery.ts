import { Context, Effect, Layer } from "effect"
import type { OpenIdConfiguration } from "../api/Sessions.ts"
import { AppConfig } from "../platform/Config.ts"

/**
 * OpenID Connect Discovery 1.0 §3. `issuer` is PUBLIC_URL exactly, the same string as every token's
 * `iss` (SECURITY.md "Tokens"; a verifier compares them byte for byte, §4.3).
 */
export class Discovery extends Context.Service<Discovery, {
  readonly configuration: Effect.Effect<OpenIdConfiguration>
}>()("sesame/Discovery") {}

export const layer = Layer.effect(Discovery)(
  Effect.map(AppConfig, ({ publicUrl }) => {
    const configuration: OpenIdConfiguration = {
      issuer: publicUrl,
      jwks_uri: `${publicUrl}/.well-known/jwks.json`,
      userinfo_endpoint: `${publicUrl}/v1/userinfo`,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      token_endpoint_auth_methods_supported: ["none"],
      claims_supported: [
        "iss", "sub", "aud", "exp", "iat", "auth_time", "jti", "sid", "tid", "amr",
        "email", "email_verified", "phone_number", "phone_number_verified"
      ],
      scopes_supported: ["openid", "email", "phone"],
      claim_types_supported: ["normal"]
    }
    return Discovery.of({ configuration: Effect.succeed(configuration) })
  })
)
