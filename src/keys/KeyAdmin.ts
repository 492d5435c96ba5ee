import { Clock, Context, Effect, Layer } from "effect"
import { NotFound, ScopeMissing, type ServiceUnavailable, ValidationFailed } from "../api/Errors.ts"
import type { ApiKeyView, CreateKeyRequest } from "../api/Keys.ts"
import type { CurrentKey } from "../api/Security.ts"
import { type ApiKeyId, CONSOLE_KEY_PREFIX } from "../domain/Ids.ts"
import { Audit } from "../audit/Audit.ts"
import { type ApiKey, ApiKeys } from "./ApiKeys.ts"
import { formatCidr, parseCidr } from "./IpAllowlist.ts"
import { type KeyBounds, strongerThan } from "./KeyPolicy.ts"

type Caller = CurrentKey["Service"]

/** The console's callers (src/console/Kit.ts, Auth.ts) carry ids that name no stored key. */
const isConsoleCaller = (caller: Caller) => caller.keyId.startsWith(CONSOLE_KEY_PREFIX)

const iso = (d: Date | null | undefined) => (d == null ? null : d.toISOString())

export const toView = (key: ApiKey): ApiKeyView => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  mode: key.mode,
  scopes: key.scopes,
  ipAllowlist: key.ipAllowlist,
  expiresAt: key.expiresAt === null ? null : Math.floor(key.expiresAt.getTime() / 1000),
  createdAt: key.createdAt.toISOString(),
  lastUsedAt: iso(key.lastUsedAt),
  revokedAt: iso(key.revokedAt)
})

/** `GET/POST /v1/keys`, `DELETE /v1/keys/{id}` for the calling key's tenant and mode. */
export class KeyAdmin extends Context.Service<KeyAdmin, {
  readonly list: (caller: Caller) => Effect.Effect<{ readonly keys: ReadonlyArray<ApiKeyView> }, ServiceUnavailable>
  readonly create: (caller: Caller, request: CreateKeyRequest) => Effect.Effect<
    { readonly key: ApiKeyView; readonly secret: string },
    ValidationFailed | ScopeMissing | ServiceUnavailable
  >
  readonly revoke: (caller: Caller, id: ApiKeyId) => Effect.Effect<void, NotFound | ScopeMissing | ServiceUnavailable>
}>()("sesame/KeyAdmin") {}

/** 403 SCOPE_MISSING for a key that would create or revoke a key stronger than itself, saying why. */
const escalation = (verb: "create" | "revoke", stronger: NonNullable<ReturnType<typeof strongerThan>>) =>
  new ScopeMissing({
    message: `A key cannot ${verb} a key stronger than itself: ${stronger.reason}.`,
    ...(stronger.scope === undefined ? {} : { scope: stronger.scope })
  })

export const make = Effect.gen(function* () {
  const keys = yield* ApiKeys
  const audit = yield* Audit

  /**
   * The calling key's bounds and the keys of its tenant and mode (keys never change, except being
   * revoked, and are never deleted). The console's caller is no stored key: it acts for a signed-in
   * operator, bounded only by the scopes it is given.
   */
  const keysOf = (caller: Caller) =>
    Effect.gen(function* () {
      const all = yield* keys.list(caller.tenantId, caller.mode)
      const self: KeyBounds | undefined = all.find((k) => k.id === caller.keyId) ??
        (isConsoleCaller(caller) ? { scopes: caller.scopes, ipAllowlist: [], expiresAt: null } : undefined)
      // The middleware just authenticated it: a missing caller key is a defect.
      if (self === undefined) return yield* Effect.die(new NotFound({ message: "the calling key is gone" }))
      return { self, all }
    })

  return KeyAdmin.of({
    list: (caller) => Effect.map(keys.list(caller.tenantId, caller.mode), (list) => ({ keys: list.map(toView) })),

    create: Effect.fn("KeyAdmin.create")(function* (caller: Caller, request: CreateKeyRequest) {
      // No escalation: a test key never mints a live key, and no key mints one stronger than itself (below).
      if (request.mode !== caller.mode) {
        return yield* new ScopeMissing({ message: `A ${caller.mode} key can only create ${caller.mode} keys.` })
      }
      const nowMs = yield* Clock.currentTimeMillis
      if (request.expiresAt !== undefined && request.expiresAt * 1000 <= nowMs) {
        return yield* new ValidationFailed({ message: "expiresAt must be in the future (Unix seconds)", field: "expiresAt" })
      }
      const allowlist: Array<string> = []
      for (const [i, entry] of (request.ipAllowlist ?? []).entries()) {
        const cidr = parseCidr(entry)
        if (cidr === undefined) {
          return yield* new ValidationFailed({ message: `ipAllowlist.${i}: not an IPv4/IPv6 address or CIDR`, field: `ipAllowlist.${i}` })
        }
        allowlist.push(formatCidr(cidr))
      }
      const { self } = yield* keysOf(caller)
      const stronger = strongerThan({
        scopes: request.scopes,
        ipAllowlist: allowlist,
        expiresAt: request.expiresAt === undefined ? null : new Date(request.expiresAt * 1000)
      }, self)
      if (stronger !== undefined) return yield* escalation("create", stronger)
      const created = yield* keys.create({
        tenantId: caller.tenantId,
        name: request.name,
        mode: request.mode,
        scopes: [...new Set(request.scopes)],
        expiresAt: request.expiresAt === undefined ? null : new Date(request.expiresAt * 1000),
        ipAllowlist: [...new Set(allowlist)]
      })
      const view = toView(created.key)
      yield* audit.record({
        tenantId: caller.tenantId, mode: caller.mode, type: "key.created", subject: view.id,
        details: { name: view.name, prefix: view.prefix, scopes: [...view.scopes], ipAllowlist: [...view.ipAllowlist], expiresAt: view.expiresAt }
      })
      return { key: view, secret: created.secret }
    }),

    revoke: Effect.fn("KeyAdmin.revoke")(function* (caller: Caller, id: ApiKeyId) {
      const { self, all } = yield* keysOf(caller)
      const target = all.find((k) => k.id === id)
      if (target === undefined) return yield* new NotFound({})
      // A leaked narrow key must not be able to lock the owner out by revoking the keys above it.
      const stronger = strongerThan(target, self)
      if (stronger !== undefined) return yield* escalation("revoke", stronger)
      yield* keys.revoke(id, { tenantId: caller.tenantId, mode: caller.mode })
      yield* audit.record({ tenantId: caller.tenantId, mode: caller.mode, type: "key.revoked", subject: id, details: {} })
    })
  })
})

export const layer = Layer.effect(KeyAdmin)(make)
