import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { CurrentKey } from "../api/Security.ts"
import { Audit } from "../audit/Audit.ts"
import { KeyAdmin } from "../keys/KeyAdmin.ts"
import { TenantAdmin } from "../tenants/TenantAdmin.ts"

export const KeysHandlers = HttpApiBuilder.group(Api, "keys", (h) =>
  Effect.gen(function* () {
    const admin = yield* KeyAdmin
    return h
      .handle("list", () => Effect.flatMap(CurrentKey, (key) => admin.list(key)))
      .handle("create", ({ payload }) => Effect.flatMap(CurrentKey, (key) => admin.create(key, payload)))
      .handle("revoke", ({ params }) => Effect.flatMap(CurrentKey, (key) => admin.revoke(key, params.keyId)))
  }))

export const TenantHandlers = HttpApiBuilder.group(Api, "tenant", (h) =>
  Effect.gen(function* () {
    const admin = yield* TenantAdmin
    return h
      .handle("get", () => Effect.flatMap(CurrentKey, (key) => admin.get(key)))
      .handle("update", ({ payload }) => Effect.flatMap(CurrentKey, (key) => admin.update(key, payload)))
  }))

const PAGE = 50

export const AuditHandlers = HttpApiBuilder.group(Api, "audit", (h) =>
  Effect.gen(function* () {
    const audit = yield* Audit
    return h.handle("list", ({ query }) =>
      Effect.flatMap(CurrentKey, (key) => {
        const limit = query.limit ?? PAGE
        return audit.list(key.tenantId, key.mode, { limit, before: query.cursor }).pipe(
          Effect.map((events) => ({
            events: events.map(({ cursor: _, createdAt, ...event }) => ({ ...event, createdAt: createdAt.toISOString() })),
            nextCursor: events.length === limit ? events[events.length - 1]?.cursor ?? null : null
          }))
        )
      }))
  }))

export const AdminHandlers = Layer.mergeAll(KeysHandlers, TenantHandlers, AuditHandlers)
