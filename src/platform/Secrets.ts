import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { type KeyObject, randomBytes } from "node:crypto"
import { AppConfig } from "./Config.ts"
import { decrypt, deriveKey, encrypt, hmacSha256, secretKey } from "./Crypto.ts"

export class SecretMissing extends Error {
  override readonly name = "SecretMissing"
}

/**
 * Keys derived from SESAME_SECRET, which lives outside the database: an HMAC key for one-time codes
 * (SECURITY.md "Storage": a database dump alone cannot brute-force 10^6 codes) and an AES-256-GCM key
 * for what must be readable again (signing keys, queued message bodies).
 */
export class Secrets extends Context.Service<Secrets, {
  /** HMAC-SHA256 over the auth request id and the code, so a code only ever matches its own request. */
  readonly codeHash: (authRequestId: string, code: string) => Buffer
  readonly seal: (plaintext: string, aad: string) => Buffer
  readonly open: (data: Uint8Array, aad: string) => string
  /** HMAC-SHA256 under a key derived for `purpose` alone (e.g. the hosted link page's per-render token). */
  readonly mac: (purpose: string, value: string) => Buffer
}>()("sesame/Secrets") {
  static fromMaster(master: Uint8Array): Secrets["Service"] {
    const codeKey = secretKey(deriveKey(master, "code-hmac"))
    const encKey = secretKey(deriveKey(master, "aes-gcm"))
    // a handful of fixed purposes: each key is derived once
    const macKeys = new Map<string, KeyObject>()
    const macKey = (purpose: string) => {
      let key = macKeys.get(purpose)
      if (key === undefined) {
        key = secretKey(deriveKey(master, `mac/${purpose}`))
        macKeys.set(purpose, key)
      }
      return key
    }
    return {
      codeHash: (id, code) => hmacSha256(codeKey, `${id}:${code}`),
      seal: (plaintext, aad) => encrypt(encKey, plaintext, aad),
      open: (data, aad) => decrypt(encKey, data, aad),
      mac: (purpose, value) => hmacSha256(macKey(purpose), value)
    }
  }

  static readonly layerTest = Layer.succeed(Secrets)(Secrets.fromMaster(Buffer.alloc(32, 7)))
}

const readOrCreate = (dataDir: string) =>
  Effect.sync(() => {
    const path = join(dataDir, "secret")
    try {
      return { secret: readFileSync(path, "utf8").trim(), created: false, path }
    } catch {
      mkdirSync(dataDir, { recursive: true })
      const secret = randomBytes(32).toString("base64url")
      writeFileSync(path, secret + "\n", { mode: 0o600 })
      return { secret, created: true, path }
    }
  })

export const layer = Layer.effect(Secrets)(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const master = yield* Option.match(config.secret, {
      onSome: (s) => Effect.succeed(Redacted.value(s)),
      onNone: () =>
        config.production
          ? Effect.die(new SecretMissing("SESAME_SECRET is required when NODE_ENV=production"))
          : Effect.flatMap(readOrCreate(config.dataDir), ({ secret, created, path }) =>
            (created
              ? Effect.logWarning(`SESAME_SECRET is not set: generated a random one into ${path}. Set SESAME_SECRET in production.`)
              : Effect.logInfo(`SESAME_SECRET is not set: using ${path}`)).pipe(Effect.as(secret)))
    })
    if (master.length < 16) return yield* Effect.die(new SecretMissing("SESAME_SECRET must be at least 16 characters"))
    return Secrets.fromMaster(Buffer.from(master, "utf8"))
  })
)
