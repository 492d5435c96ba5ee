import { Clock, Context, Effect, Layer, Ref, Schema } from "effect"
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose"
import type { JWTPayload } from "jose"
import { TokenExpired, TokenInvalid, type ServiceUnavailable } from "../api/Errors.ts"
import { Mode, SessionId, TenantId, UserId } from "../domain/Ids.ts"
import { AppConfig } from "../platform/Config.ts"
import { randomToken } from "../platform/Crypto.ts"
import {
  issuerOf, loadKey, newKeyMaterial, type PublicJwk, published, type SigningKey, signingKey, sortKeys
} from "./SigningKeys.ts"

/** `mode` picks the signing key and the issuer, and is a claim of its own: the token says its mode. */
export interface AccessClaims {
  readonly mode: Mode
  readonly sub: UserId
  readonly aud: TenantId
  readonly tid: TenantId
  readonly sid: SessionId
  readonly amr: ReadonlyArray<string>
  readonly email: string | null
  readonly phone_number: string | null
}

export interface IdClaims {
  readonly mode: Mode
  readonly sub: UserId
  readonly aud: TenantId
  readonly sid: SessionId
  readonly email: string | null
  readonly email_verified: boolean
  readonly phone_number: string | null
  readonly phone_number_verified: boolean
  /** What the user approved (a send's `approval`): the transaction the relying party can check in a signed token. */
  readonly approval_data?: { readonly [key: string]: string }
}

/** `expiresAt` in seconds since the epoch, like `exp`. */
export interface SignedToken {
  readonly token: string
  readonly expiresAt: number
}

const VerifiedPayload = Schema.Struct({
  iss: Schema.String,
  sub: UserId,
  aud: TenantId,
  tid: TenantId,
  sid: SessionId,
  jti: Schema.String,
  iat: Schema.Int,
  exp: Schema.Int,
  amr: Schema.Array(Schema.String),
  mode: Schema.optionalKey(Mode),
  email: Schema.optionalKey(Schema.String),
  phone_number: Schema.optionalKey(Schema.String)
})
export interface VerifiedAccess extends AccessClaims {
  readonly iss: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
}

export class TokenSigner extends Context.Service<TokenSigner, {
  readonly signAccess: (claims: AccessClaims, ttlSeconds: number, now: Date) => Effect.Effect<SignedToken>
  /** The OpenID id token; `now` is also its `auth_time`. */
  readonly signId: (claims: IdClaims, ttlSeconds: number, now: Date) => Effect.Effect<SignedToken>
  /** The keys of one mode's issuer: a verifier trusting the live JWKS never holds a test key. */
  readonly jwks: (mode: Mode) => Effect.Effect<{ readonly keys: ReadonlyArray<PublicJwk> }>
  /**
   * Checks an access token of either mode, against the issuer of the key that signed it; `mode` in
   * the result is that key's mode (the caller compares it with the session's or the API key's).
   * With `audience`, only that tenant's tokens pass, else any tenant's (read `tid`).
   */
  readonly verifyAccess: (token: string, now: Date, audience?: TenantId) => Effect.Effect<VerifiedAccess, TokenInvalid | TokenExpired>
  /** Re-reads the keys (other processes may have added or rotated some). */
  readonly reload: Effect.Effect<void, ServiceUnavailable>
}>()("sesame/TokenSigner") {
  static readonly layerTest: Layer.Layer<TokenSigner, never, AppConfig> = Layer.effect(TokenSigner)(
    Effect.gen(function*() {
      const { publicUrl } = yield* AppConfig
      const keys = yield* Effect.forEach(["live", "test"] as const, (mode) =>
        Effect.flatMap(newKeyMaterial, (m) => loadKey(m, { mode, createdAt: new Date(0), retiredAt: null })))
      return yield* makeSigner(publicUrl, keys)
    })
  )
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)
const nonNull = (claims: Record<string, unknown>): JWTPayload =>
  Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== null))

const CLOCK_TOLERANCE_SECONDS = 60
/** Far above any token we sign (~600–900 characters with every claim). */
const MAX_ACCESS_TOKEN_LENGTH = 8192

/** At most one re-read per this interval is triggered by tokens naming a kid we do not know. */
const UNKNOWN_KID_RELOAD_MS = 10_000

/**
 * The signer over an in-memory key ring: signing and verifying never touch the database.
 * `load` re-reads the keys (the live layer: from `signing_keys`, where other processes add theirs).
 */
export const makeSigner = Effect.fnUntraced(function*(
  publicUrl: string,
  initial: ReadonlyArray<SigningKey>,
  load: Effect.Effect<ReadonlyArray<SigningKey>, ServiceUnavailable> = Effect.succeed(initial)
) {
  const ring = yield* Ref.make(sortKeys(initial))
  const lastUnknownReload = yield* Ref.make(Number.NEGATIVE_INFINITY)
  const reload = Effect.flatMap(load, (keys) => Ref.set(ring, sortKeys(keys)))
  // A forged kid must not turn every request into a database read: throttled, and a failure is just "unknown".
  const onUnknownKid = (now: Date) =>
    Effect.flatMap(
      Ref.modify(lastUnknownReload, (last) =>
        now.getTime() - last >= UNKNOWN_KID_RELOAD_MS ? [true, now.getTime()] : [false, last]),
      (due) => due ? Effect.ignore(reload, { log: "Warn" }) : Effect.void
    )

  const sign = (mode: Mode, typ: "at+jwt" | "JWT", claims: JWTPayload, ttlSeconds: number, now: Date) =>
    Effect.flatMap(Ref.get(ring), (keys) => {
      const key = signingKey(keys, mode, now.getTime())
      if (key === undefined) return Effect.die(new Error(`no ${mode} signing key loaded`))
      const iat = seconds(now)
      const exp = iat + ttlSeconds
      return Effect.promise(() =>
        new SignJWT({ ...claims, mode, iss: issuerOf(publicUrl, mode), iat, exp })
          .setProtectedHeader({ alg: "ES256", kid: key.kid, typ }).sign(key.privateKey)
      ).pipe(Effect.map((token) => ({ token, expiresAt: exp })))
    })

  const findKey = (kid: string, now: Date) =>
    Effect.map(Ref.get(ring), (keys) => keys.find((k) => k.kid === kid && published(k, now.getTime())))

  const invalid = () => new TokenInvalid({})

  const verifyAccess = Effect.fnUntraced(function*(token: string, now: Date, audience?: TenantId) {
    // Our access tokens are a few hundred characters: a longer one is malformed, refused before parsing.
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) return yield* invalid()
    const header = yield* Effect.try({ try: () => decodeProtectedHeader(token), catch: invalid })
    // RFC 8725 §3.1/§3.10: one algorithm, and `kid` only selects among our own keys (jku/x5u are never fetched).
    if (header.alg !== "ES256" || header.typ !== "at+jwt" || typeof header.kid !== "string") return yield* invalid()
    let key = yield* findKey(header.kid, now)
    if (key === undefined) {
      yield* onUnknownKid(now)
      key = yield* findKey(header.kid, now)
    }
    if (key === undefined) return yield* invalid()
    const { publicKey, mode } = key
    const { payload } = yield* Effect.tryPromise({
      try: () =>
        jwtVerify(token, publicKey, {
          algorithms: ["ES256"],
          typ: "at+jwt",
          issuer: issuerOf(publicUrl, mode),
          ...(audience === undefined ? {} : { audience }),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: now,
          requiredClaims: ["exp", "iat", "jti", "sub", "aud", "sid", "tid"]
        }),
      catch: (error) => error instanceof errors.JWTExpired ? new TokenExpired({}) : invalid()
    })
    const claims = yield* Schema.decodeUnknownEffect(VerifiedPayload)(payload).pipe(Effect.mapError(invalid))
    if (claims.aud !== claims.tid) return yield* invalid()
    // Tokens signed before modes existed carry no `mode`, and only what became the live keys signed
    // them: such a token is live. A test key's token must say `test`; a mode-less one is refused.
    if (claims.mode === undefined ? mode !== "live" : claims.mode !== mode) return yield* invalid()
    return { ...claims, mode, email: claims.email ?? null, phone_number: claims.phone_number ?? null }
  })

  return TokenSigner.of({
    signAccess: (c, ttl, now) =>
      sign(c.mode, "at+jwt", nonNull({ ...c, amr: [...c.amr], jti: randomToken(16) }), ttl, now),
    signId: (c, ttl, now) =>
      sign(c.mode, "JWT", nonNull({
        sub: c.sub,
        aud: c.aud,
        sid: c.sid,
        auth_time: seconds(now),
        email: c.email,
        email_verified: c.email === null ? null : c.email_verified,
        phone_number: c.phone_number,
        phone_number_verified: c.phone_number === null ? null : c.phone_number_verified,
        approval_data: c.approval_data ?? null
      }), ttl, now),
    jwks: (mode) =>
      Effect.zipWith(Ref.get(ring), Clock.currentTimeMillis, (keys, now) => ({
        keys: keys.filter((k) => k.mode === mode && published(k, now)).map((k) => k.publicJwk)
      })),
    verifyAccess,
    reload
  })
})
