import { Clock, Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import { ApiKeyId } from "../domain/Ids.ts"
import { constantTimeEqual } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { type ApiKey, ApiKeys, KeyRefused } from "./ApiKeys.ts"

/** How long a client-credentials bearer lives (OAuth 2.0 client credentials, RFC 6749 §4.4). */
export const CLIENT_TOKEN_TTL_SECONDS = 900

const PREFIX = "sat_"
const FORMAT = /^sat_(key_[0-9A-Za-z]{16,40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/

export interface ClientToken {
  readonly access_token: string
  readonly token_type: "Bearer"
  readonly expires_in: number
}

/**
 * The OAuth client-credentials grant that Scalekit's and Transmit's integrations run before every
 * call: they trade their key (client_secret) for a short-lived bearer. The bearer is
 * `sat_<keyId>.<expiry>.<HMAC>`, keyed by the deployment's secret: nothing is stored, and it carries
 * no power of its own — each use checks the key behind it, so revoking the key ends its bearers too.
 */
export class ClientCredentials extends Context.Service<ClientCredentials, {
  /** A bearer for the key whose secret this is (the key must be valid now). */
  readonly issue: (secret: string) => Effect.Effect<ClientToken, KeyRefused | ServiceUnavailable>
  /** The key behind a bearer from `issue`, checked as a presented key is (revoked, expired, unknown). */
  readonly resolve: (token: string) => Effect.Effect<ApiKey, KeyRefused | ServiceUnavailable>
  readonly isClientToken: (credential: string) => boolean
}>()("sesame/ClientCredentials") {}

export const make = Effect.gen(function* () {
  const secrets = yield* Secrets
  const keys = yield* ApiKeys
  const macOf = (id: string, expires: number) => secrets.mac("client-credentials", `${id}.${expires}`)

  const issue = (secret: string) =>
    Effect.gen(function* () {
      const key = yield* keys.authenticate(secret)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const expires = now + CLIENT_TOKEN_TTL_SECONDS
      return {
        access_token: `${PREFIX}${key.id}.${expires}.${macOf(key.id, expires).toString("base64url")}`,
        token_type: "Bearer" as const,
        expires_in: CLIENT_TOKEN_TTL_SECONDS
      }
    })

  const resolve = (token: string) =>
    Effect.gen(function* () {
      const match = FORMAT.exec(token)
      if (match === null) return yield* new KeyRefused({ reason: "unknown" })
      const [, id = "", expiresText = "0", mac = ""] = match
      const expires = Number(expiresText)
      if (!constantTimeEqual(Buffer.from(mac, "base64url"), macOf(id, expires))) return yield* new KeyRefused({ reason: "unknown" })
      if (expires * 1000 <= (yield* Clock.currentTimeMillis)) return yield* new KeyRefused({ reason: "expired" })
      return yield* keys.authenticateId(ApiKeyId.make(id))
    })

  return ClientCredentials.of({ issue, resolve, isClientToken: (credential) => credential.startsWith(PREFIX) })
})

export const layer = Layer.effect(ClientCredentials)(make)
