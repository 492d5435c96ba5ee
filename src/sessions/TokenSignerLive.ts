import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Schedule, Schema } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { Mode } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"
import { AppConfig } from "../platform/Config.ts"
import { Secrets } from "../platform/Secrets.ts"
import { ACTIVATION_DELAY_MS, type KeyMaterial, loadKey, newKeyMaterial, PrivateJwk, PublicJwk } from "./SigningKeys.ts"
import { makeSigner, TokenSigner } from "./TokenSigner.ts"

/**
 * Signing keys live in `signing_keys`, shared by every process: the private JWK sealed with AES-256-GCM
 * under SESAME_SECRET (aad = kid, so a sealed key cannot be swapped onto another row). Each process
 * holds the keys in memory; the database is read at start, every minute, and on an unknown kid.
 * Every key belongs to one mode (`signing_keys.mode`): each mode is its own issuer with its own keys.
 */
const Row = Schema.Struct({
  kid: Schema.String,
  mode: Mode,
  alg: Schema.Literal("ES256"),
  publicJwk: PublicJwk,
  privateEnc: Schema.Uint8Array,
  createdAt: Schema.Date,
  retiredAt: Schema.NullOr(Schema.Date)
})
const decodeRow = Schema.decodeUnknownEffect(Row)
const decodePrivate = Schema.decodeUnknownEffect(Schema.fromJsonString(PrivateJwk))

const REFRESH_INTERVAL = "1 minute"

const readKeys = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const secrets = yield* Secrets
  const rows = yield* sql`SELECT kid, mode, alg, public_jwk, private_enc, created_at, retired_at FROM signing_keys`
  return yield* Effect.forEach(rows, (raw) =>
    Effect.gen(function*() {
      // Rows are ours: a row that does not decode or open (a changed SESAME_SECRET) is a defect, not a 401.
      const row = yield* Effect.orDie(decodeRow(raw))
      const json = yield* Effect.try({
        try: () => secrets.open(row.privateEnc, row.kid),
        catch: () => new Error(`signing key ${row.kid} cannot be decrypted: was SESAME_SECRET changed?`)
      }).pipe(Effect.orDie)
      const privateJwk = yield* Effect.orDie(decodePrivate(json))
      const material: KeyMaterial = { kid: row.kid, publicJwk: row.publicJwk, privateJwk }
      return yield* loadKey(material, { mode: row.mode, createdAt: row.createdAt, retiredAt: row.retiredAt })
    }))
})

/** One statement: inserts only while the mode has no key in use, which narrows (not closes) the start-up race. */
const insertFirstKey = (material: KeyMaterial, mode: Mode, now: Date) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const secrets = yield* Secrets
    const sealed = secrets.seal(JSON.stringify(material.privateJwk), material.kid)
    yield* sql`INSERT INTO signing_keys (kid, mode, alg, public_jwk, private_enc, created_at)
      SELECT ${material.kid}, ${mode}, 'ES256', ${sql.json(material.publicJwk)}, ${sealed}::bytea, ${now}::timestamptz
      WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE mode = ${mode} AND (retired_at IS NULL OR retired_at > ${now}))`
  })

const MODES: ReadonlyArray<Mode> = ["live", "test"]

/**
 * Keys at start: load; for each mode with none in use, create one. Processes starting together may
 * each insert one (no lock spans the check and the insert); all of them stay published, and every
 * process signs with the mode's newest once it has re-read the table, so tokens from any of them
 * verify everywhere.
 */
const loadOrCreate = Effect.gen(function*() {
  const now = new Date(yield* Clock.currentTimeMillis)
  const keys = yield* readKeys
  const missing = MODES.filter((mode) => !keys.some((k) => k.mode === mode && (k.retiredAt === null || k.retiredAt > now)))
  if (missing.length === 0) return keys
  yield* Effect.forEach(missing, (mode) => Effect.flatMap(newKeyMaterial, (m) => insertFirstKey(m, mode, now)), { discard: true })
  return yield* readKeys
})

export const make: Effect.Effect<TokenSigner["Service"], SqlError, PgClient.PgClient | Secrets | AppConfig> = Effect.gen(
  function*() {
    const { publicUrl } = yield* AppConfig
    const context = yield* Effect.context<PgClient.PgClient | Secrets>()
    const keys = yield* loadOrCreate
    return yield* makeSigner(publicUrl, keys, unavailable(Effect.provideContext(readKeys, context)))
  }
)

/** The live signer, refreshing its keys every minute so a rotation done elsewhere is seen before it activates. */
export const layer: Layer.Layer<TokenSigner, SqlError, PgClient.PgClient | Secrets | AppConfig> = Layer.effect(TokenSigner)(
  Effect.tap(make, (signer) =>
    Effect.forkScoped(Effect.repeat(Effect.ignore(signer.reload, { log: "Warn" }), Schedule.spaced(REFRESH_INTERVAL))))
)

export interface Rotated {
  readonly mode: Mode
  readonly kid: string
}

/**
 * `sesame keys rotate`: for each of `modes`, publish a new key of that mode now (in that mode's JWKS
 * only); it signs from ACTIVATION_DELAY_MS on, when the mode's keys in use retire (their public keys
 * stay in the JWKS until every token they signed has expired). The other mode's keys are untouched.
 * One statement per mode, so a crash cannot leave a mode's old keys retired without a successor.
 */
export const rotate = (
  now: Date,
  modes: ReadonlyArray<Mode> = MODES
): Effect.Effect<ReadonlyArray<Rotated>, SqlError, PgClient.PgClient | Secrets> =>
  Effect.forEach(modes, (mode) =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const secrets = yield* Secrets
      const material = yield* newKeyMaterial
      const sealed = secrets.seal(JSON.stringify(material.privateJwk), material.kid)
      const activeAt = new Date(now.getTime() + ACTIVATION_DELAY_MS)
      yield* sql`
        WITH retired AS (
          UPDATE signing_keys SET retired_at = ${activeAt}
          WHERE mode = ${mode} AND (retired_at IS NULL OR retired_at > ${activeAt})
        )
        INSERT INTO signing_keys (kid, mode, alg, public_jwk, private_enc, created_at, retired_at)
        VALUES (${material.kid}, ${mode}, 'ES256', ${sql.json(material.publicJwk)}, ${sealed}, ${now}, NULL)`
      return { mode, kid: material.kid }
    }))
