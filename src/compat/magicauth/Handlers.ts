import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../api/Api.ts"
import { KeyResolver } from "../../http/KeyResolver.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { UserStore } from "../../sessions/UserStore.ts"
import { guardOf, translate } from "../Kit.ts"
import { MagicAuthGuard } from "./Api.ts"
import { magicAuth } from "./Product.ts"
import { sendLink, verifyToken } from "./Translate.ts"

/**
 * MagicAuth's key is `app_key` in the body, so no middleware can read it: each handler runs its work
 * as that key through KeyResolver (IP allowlist, scope, per-key limit, X-Request-Id, X-RateLimit-*),
 * the same checks `/v1`'s ApiKeyAuth makes, and a missing key is 401 before any field is looked at.
 */
const group = HttpApiBuilder.group(Api, "magicauth", (h) =>
  Effect.gen(function* () {
    const resolver = yield* KeyResolver
    const pw = yield* Passwordless
    const users = yield* UserStore
    const answer = translate(magicAuth)
    return h
      .handle("sendLink", ({ payload }) => answer(resolver.run(payload.app_key, "passwordless:send", sendLink(pw, payload))))
      .handle("verifyToken", ({ payload }) =>
        answer(resolver.run(payload.app_key, "passwordless:verify", verifyToken(pw, users, payload))))
  }))

export const MagicAuthHandlers = group.pipe(Layer.provideMerge(Layer.succeed(MagicAuthGuard)(guardOf(magicAuth))))
