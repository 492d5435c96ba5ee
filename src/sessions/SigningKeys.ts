import { Effect, Schema } from "effect"
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose"
import type { CryptoKey } from "jose"
import type { Mode } from "../domain/Ids.ts"

/**
 * Each mode is its own OpenID issuer, a separate trust domain with its own keys: live tokens say
 * `iss` = PUBLIC_URL, test tokens `${PUBLIC_URL}/test`, so a verifier set up for live (its issuer,
 * its JWKS) refuses every test token on the kid, the issuer and the `mode` claim.
 */
export const issuerOf = (publicUrl: string, mode: Mode) => mode === "live" ? publicUrl : `${publicUrl}/test`

/** The public half of a signing key, as published in the JWKS (public members only). */
export const PublicJwk = Schema.Struct({
  kty: Schema.Literal("EC"),
  crv: Schema.Literal("P-256"),
  x: Schema.String,
  y: Schema.String,
  kid: Schema.String,
  alg: Schema.Literal("ES256"),
  use: Schema.Literal("sig")
})
export type PublicJwk = typeof PublicJwk.Type

/** The private JWK, exactly these members: what is sealed into `signing_keys.private_enc`. */
export const PrivateJwk = Schema.Struct({
  kty: Schema.Literal("EC"),
  crv: Schema.Literal("P-256"),
  x: Schema.String,
  y: Schema.String,
  d: Schema.String
})
export type PrivateJwk = typeof PrivateJwk.Type

export interface SigningKey {
  readonly kid: string
  /** The only mode whose tokens this key signs, verifies, and is published for. */
  readonly mode: Mode
  readonly publicJwk: PublicJwk
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  readonly createdAt: Date
  readonly retiredAt: Date | null
}

/** What a key is stored as: the private JWK is handed to the caller to seal before it touches a row. */
export interface KeyMaterial {
  readonly kid: string
  readonly publicJwk: PublicJwk
  readonly privateJwk: PrivateJwk
}

/** A key is published before it signs, so verifiers that cache the JWKS learn it first (SECURITY.md "Tokens"). */
export const ACTIVATION_DELAY_MS = 15 * 60_000
/** JWKS cache lifetime: well under ACTIVATION_DELAY_MS, so every cache has seen a new key before it signs. */
export const JWKS_MAX_AGE_SECONDS = 300
/** Retired keys stay published until every token they signed has expired: the longest TTL (1 day) plus leeway. */
export const RETAIN_AFTER_RETIRED_MS = 86_400_000 + 5 * 60_000

export const newKeyMaterial: Effect.Effect<KeyMaterial> = Effect.gen(function*() {
  const { privateKey } = yield* Effect.promise(() => generateKeyPair("ES256", { extractable: true }))
  const exported = yield* Effect.promise(() => exportJWK(privateKey))
  const privateJwk = yield* Effect.orDie(Schema.decodeUnknownEffect(PrivateJwk)(exported))
  // RFC 7638 thumbprint: a kid derived from the public key itself, identical on every process.
  const kid = yield* Effect.promise(() => calculateJwkThumbprint(privateJwk))
  const { d: _, ...publicMembers } = privateJwk
  const publicJwk: PublicJwk = { ...publicMembers, kid, alg: "ES256", use: "sig" }
  return { kid, publicJwk, privateJwk }
})

export const loadKey = (
  material: KeyMaterial,
  stored: { readonly mode: Mode; readonly createdAt: Date; readonly retiredAt: Date | null }
): Effect.Effect<SigningKey> =>
  Effect.promise(async () => ({
    kid: material.kid,
    publicJwk: material.publicJwk,
    privateKey: await importJWK(material.privateJwk, "ES256"),
    publicKey: await importJWK(material.publicJwk, "ES256"),
    ...stored
  }))

/**
 * Keys newest first; a mode signs with its newest key active for ACTIVATION_DELAY_MS, else (a fresh
 * deployment) its newest. Never with another mode's key.
 */
export const signingKey = (keys: ReadonlyArray<SigningKey>, mode: Mode, now: number) => {
  const mine = keys.filter((k) => k.mode === mode)
  const inUse = mine.filter((k) => k.retiredAt === null || k.retiredAt.getTime() > now)
  return inUse.find((k) => k.createdAt.getTime() <= now - ACTIVATION_DELAY_MS) ?? inUse[0] ?? mine[0]
}
export const published = (k: SigningKey, now: number) => k.retiredAt === null || k.retiredAt.getTime() + RETAIN_AFTER_RETIRED_MS > now

export const sortKeys = (keys: ReadonlyArray<SigningKey>) =>
  [...keys].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0))
