import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { CurrentKey } from "../api/Security.ts"
import { CurrentSession } from "../api/Sessions.ts"
import { Discovery } from "../sessions/Discovery.ts"
import { SessionAdmin } from "../sessions/SessionAdmin.ts"
import { SessionTokens } from "../sessions/SessionTokens.ts"
import { Users } from "../users/Users.ts"
import { cacheFor } from "./CacheControl.ts"

export const SessionsHandlers = HttpApiBuilder.group(Api, "sessions", (h) =>
  Effect.gen(function*() {
    const admin = yield* SessionAdmin
    return h
      .handle("verify", ({ payload }) => Effect.flatMap(CurrentKey, (key) => admin.verify(key, payload.token)))
      .handle("list", ({ params }) => Effect.flatMap(CurrentKey, (key) => admin.list(key, params.userId)))
      .handle("revoke", ({ params }) => Effect.flatMap(CurrentKey, (key) => admin.revoke(key, params.sessionId)))
      .handle("revokeAll", ({ params }) => Effect.flatMap(CurrentKey, (key) => admin.revokeAll(key, params.userId)))
  }))

export const TokenHandlers = HttpApiBuilder.group(Api, "token", (h) =>
  Effect.gen(function*() {
    const tokens = yield* SessionTokens
    return h
      .handle("refresh", ({ payload }) => tokens.refresh(payload.refreshToken))
      .handle("logout", () => Effect.flatMap(CurrentSession, tokens.logout))
      .handle("userinfo", () => Effect.flatMap(CurrentSession, tokens.userinfo))
  }))

export const UsersHandlers = HttpApiBuilder.group(Api, "users", (h) =>
  Effect.gen(function*() {
    const users = yield* Users
    return h
      .handle("find", ({ query }) => Effect.flatMap(CurrentKey, (key) => users.find(key, query)))
      .handle("get", ({ params }) => Effect.flatMap(CurrentKey, (key) => users.get(key, params.userId)))
      .handle("export", ({ params }) => Effect.flatMap(CurrentKey, (key) => users.export(key, params.userId)))
      .handle("delete", ({ params }) => Effect.flatMap(CurrentKey, (key) => users.erase(key, params.userId)))
  }))

/** Discovery changes only with PUBLIC_URL: an hour of caching is harmless. */
const DISCOVERY_MAX_AGE_SECONDS = 3600

export const OidcHandlers = HttpApiBuilder.group(Api, "oidc", (h) =>
  Effect.gen(function*() {
    const discovery = yield* Discovery
    return h
      .handle("configuration", () => Effect.andThen(cacheFor(DISCOVERY_MAX_AGE_SECONDS), discovery.configuration("live")))
      .handle("testConfiguration", () => Effect.andThen(cacheFor(DISCOVERY_MAX_AGE_SECONDS), discovery.configuration("test")))
  }))

export const SessionHandlers = Layer.mergeAll(SessionsHandlers, TokenHandlers, UsersHandlers, OidcHandlers)
