import { Effect, Layer, Redacted } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { decodeJwt } from "jose"
import { Api } from "../../api/Api.ts"
import { TokenInvalid } from "../../api/Errors.ts"
import { CurrentKey } from "../../api/Security.ts"
import { KeyResolver } from "../../http/KeyResolver.ts"
import { SessionTokens } from "../../sessions/SessionTokens.ts"
import { guardOf, keyAuthOf, translate } from "../Kit.ts"
import { Auth1BearerAuth, Auth1Guard, Auth1KeyAuth, Auth1Session } from "./Api.ts"
import * as Auth1Adapter from "./Auth1.ts"
import { auth1 } from "./Product.ts"

const inAuth1Words = translate(auth1)

export const Auth1GuardLive = Layer.succeed(Auth1Guard)(guardOf(auth1))

/** Auth1 sends its key in `x-api-key` only (a Bearer on these routes is not a key). */
const apiKeyOf = (request: HttpServerRequest.HttpServerRequest) => request.headers["x-api-key"]?.trim()

export const Auth1KeyAuthLive = Layer.effect(Auth1KeyAuth)(
  Effect.map(KeyResolver, (resolver) => {
    const authenticate = keyAuthOf(auth1, resolver, apiKeyOf)
    return Auth1KeyAuth.of({ apiKey: (httpEffect, { endpoint }) => authenticate(httpEffect, { endpoint }) })
  })
)

/** The access token's `exp`: it was verified by `authenticate` just before, so reading it is enough. */
const expiryOf = (token: string) =>
  Effect.flatMap(Effect.sync(() => decodeJwt(token).exp), (exp) =>
    exp === undefined ? Effect.die(new Error("an access token without exp was accepted")) : Effect.succeed(new Date(exp * 1000)))

export const Auth1BearerAuthLive = Layer.effect(Auth1BearerAuth)(
  Effect.map(SessionTokens, (tokens) =>
    Auth1BearerAuth.of({
      accessToken: (httpEffect, { credential }) =>
        inAuth1Words(Effect.gen(function* () {
          const token = Redacted.value(credential)
          if (token === "") return yield* new TokenInvalid({ message: "An access token is required: Authorization: Bearer <token>." })
          const session = yield* tokens.authenticate(token)
          const expiresAt = yield* expiryOf(token)
          return yield* Effect.provideService(httpEffect, Auth1Session, { session, expiresAt })
        }))
    }))
)

export const Auth1GroupLive = HttpApiBuilder.group(Api, "auth1", (h) =>
  Effect.gen(function* () {
    const adapter = yield* Auth1Adapter.Auth1
    return h
      .handle("smsRequest", ({ payload }) => inAuth1Words(Effect.flatMap(CurrentKey, (key) => adapter.smsRequest(key, payload))))
      .handle("smsVerify", ({ payload }) => inAuth1Words(Effect.flatMap(CurrentKey, (key) => adapter.smsVerify(key, payload))))
      .handle("session", () => inAuth1Words(Effect.flatMap(Auth1Session, adapter.session)))
      .handle("refresh", ({ payload }) => inAuth1Words(adapter.refresh(payload.refreshToken)))
      .handle("logout", () => inAuth1Words(Effect.flatMap(Auth1Session, adapter.logout)))
  }))

/** The Auth1 group's handlers and middlewares, for http/Server.ts (needs KeyResolver and the domain services). */
export const Auth1Live = Auth1GroupLive.pipe(
  Layer.provide(Layer.mergeAll(Auth1Adapter.layer, Auth1GuardLive, Auth1KeyAuthLive, Auth1BearerAuthLive))
)
