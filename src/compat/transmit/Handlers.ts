import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../api/Api.ts"
import { CurrentKey } from "../../api/Security.ts"
import { KeyResolver } from "../../http/KeyResolver.ts"
import { guardOf, keyAuthOf } from "../Kit.ts"
import { TransmitGuard, TransmitKeyAuth } from "./Api.ts"
import * as Flows from "./Flows.ts"
import { TransmitProduct } from "./Product.ts"

export const TransmitHandlers = HttpApiBuilder.group(Api, "transmit", (h) =>
  Effect.gen(function* () {
    const flows = yield* Flows.make
    return h
      .handle("linkSend", ({ payload }) => Effect.flatMap(CurrentKey, (key) => flows.linkSend(key, payload)))
      .handle("linkAuthenticate", ({ payload }) => Effect.flatMap(CurrentKey, (key) => flows.linkAuthenticate(key, payload)))
      .handle("otpSend", ({ payload }) => Effect.flatMap(CurrentKey, (key) => flows.otpSend(key, payload)))
      .handle("otpAuthenticate", ({ payload }) => Effect.flatMap(CurrentKey, (key) => flows.otpAuthenticate(key, payload)))
      .handle("oidcToken", ({ payload }) => flows.oidcToken(payload))
  }))

export const TransmitGuardLive = Layer.succeed(TransmitGuard)(guardOf(TransmitProduct))

export const TransmitKeyAuthLive = Layer.effect(TransmitKeyAuth)(
  Effect.gen(function* () {
    const authenticate = keyAuthOf(TransmitProduct, yield* KeyResolver)
    return TransmitKeyAuth.of({ bearer: (httpEffect, { endpoint }) => authenticate(httpEffect, { endpoint }) })
  })
)

/** The group's handlers and its two middlewares, for http/Server.ts (which provides KeyResolver). */
export const TransmitLive = TransmitHandlers.pipe(Layer.provideMerge(Layer.mergeAll(TransmitGuardLive, TransmitKeyAuthLive)))
