import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../api/Api.ts"
import { CurrentKey } from "../../api/Security.ts"
import { KeyResolver } from "../../http/KeyResolver.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { clientCredentialsGrant, guardOf, keyAuthOf, translate } from "../Kit.ts"
import { ScalekitAuth, ScalekitGuard } from "./Api.ts"
import { Scalekit } from "./Product.ts"
import { nativeResend, nativeSend, nativeVerify, sendAnswer, verifyAnswer } from "./Translate.ts"

const inScalekitWords = translate(Scalekit)

/**
 * Each endpoint: the body in native words, one native call, the answer in Scalekit's. Verify is
 * `confirm`: Scalekit proves the email and leaves the session to the application, so no session or
 * refresh token is issued.
 */
export const ScalekitHandlers = HttpApiBuilder.group(Api, "scalekit", (h) =>
  Effect.gen(function* () {
    const pw = yield* Passwordless
    return h
      .handle("send", ({ payload }) =>
        inScalekitWords(Effect.gen(function* () {
          const key = yield* CurrentKey
          return sendAnswer(yield* pw.send(key, yield* nativeSend(payload)))
        })))
      .handle("resend", ({ payload }) =>
        inScalekitWords(Effect.gen(function* () {
          const key = yield* CurrentKey
          return sendAnswer(yield* pw.resend(key, yield* nativeResend(payload)))
        })))
      .handle("verify", ({ payload }) =>
        inScalekitWords(Effect.gen(function* () {
          const key = yield* CurrentKey
          return verifyAnswer(yield* pw.confirm(key, yield* nativeVerify(payload)))
        })))
      .handle("token", ({ payload }) => inScalekitWords(clientCredentialsGrant(payload)))
  }))

export const ScalekitAuthLive = Layer.effect(ScalekitAuth)(
  Effect.map(KeyResolver, (resolver) => ScalekitAuth.of({ bearer: keyAuthOf(Scalekit, resolver) }))
)

export const ScalekitGuardLive = Layer.succeed(ScalekitGuard)(guardOf(Scalekit))

/** The group's handlers with its middlewares, which the API's routes need too (needs KeyResolver and the domain services). */
export const ScalekitLive = ScalekitHandlers.pipe(Layer.provideMerge(Layer.mergeAll(ScalekitAuthLive, ScalekitGuardLive)))
