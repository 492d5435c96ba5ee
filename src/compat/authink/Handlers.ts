import { Context, Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../api/Api.ts"
import { CurrentKey } from "../../api/Security.ts"
import { KeyResolver } from "../../http/KeyResolver.ts"
import { guardOf, keyAuthOf } from "../Kit.ts"
import { AuthinkGuard, AuthinkKeyAuth, Verification } from "./Api.ts"
import { makeAuthink } from "./Authink.ts"
import { Authink, AuthinkVerify } from "./Product.ts"

const isVerification = (endpoint: { readonly annotations: Context.Context<never> }) => Context.get(endpoint.annotations, Verification)
const productOf = (endpoint: { readonly annotations: Context.Context<never> }) => isVerification(endpoint) ? AuthinkVerify : Authink

const AuthinkHandlers = HttpApiBuilder.group(Api, "authink", (h) =>
  Effect.gen(function* () {
    const authink = yield* makeAuthink
    return h
      .handle("sendOtp", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.sendOtp(key, payload)))
      .handle("verifyOtp", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.verifyOtp(key, payload)))
      .handle("sendMagicLink", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.sendMagicLink(key, payload)))
      .handle("verifyMagicLink", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.verifyMagicLink(key, payload.token)))
      .handle("verifySession", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.verifySession(key, payload.token)))
      .handle("revokeSession", ({ params }) => Effect.flatMap(CurrentKey, (key) => authink.revokeSession(key, params.id)))
      .handle("revokeAllSessions", ({ params }) => Effect.flatMap(CurrentKey, (key) => authink.revokeAllSessions(key, params.id)))
      .handle("listKeys", () => Effect.flatMap(CurrentKey, (key) => authink.listKeys(key)))
      .handle("createKey", ({ payload }) => Effect.flatMap(CurrentKey, (key) => authink.createKey(key, payload)))
      .handle("revokeKey", ({ params }) => Effect.flatMap(CurrentKey, (key) => authink.revokeKey(key, params.id)))
  }))

const AuthinkGuardLive = Layer.succeed(AuthinkGuard)((httpEffect, { endpoint }) => guardOf(productOf(endpoint))(httpEffect))

const AuthinkKeyAuthLive = Layer.effect(AuthinkKeyAuth)(
  Effect.gen(function* () {
    const resolver = yield* KeyResolver
    const plain = keyAuthOf(Authink, resolver)
    const verify = keyAuthOf(AuthinkVerify, resolver)
    return AuthinkKeyAuth.of({
      bearer: (httpEffect, options) => (isVerification(options.endpoint) ? verify : plain)(httpEffect, options)
    })
  })
)

/** The Authink group's handlers and its two middlewares (needs KeyResolver and the native services). */
export const AuthinkLive = AuthinkHandlers.pipe(Layer.provideMerge(Layer.mergeAll(AuthinkGuardLive, AuthinkKeyAuthLive)))
