import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { ScopeMissing, ServiceUnavailable } from "../api/Errors.ts"
import { CurrentKey } from "../api/Security.ts"
import { TestOutbox } from "../passwordless/TestOutbox.ts"
import { normalizeEmail } from "../domain/Email.ts"
import { Passwordless } from "../passwordless/Passwordless.ts"
import { Health } from "../platform/Health.ts"
import { JWKS_MAX_AGE_SECONDS } from "../sessions/SigningKeys.ts"
import { TokenSigner } from "../sessions/TokenSigner.ts"
import { cacheFor } from "./CacheControl.ts"
import { WebhookHandlers } from "./WebhookHandlers.ts"

export const PasswordlessHandlers = HttpApiBuilder.group(Api, "passwordless", (h) =>
  Effect.gen(function* () {
    const pw = yield* Passwordless
    return h
      .handle("send", ({ payload }) => Effect.flatMap(CurrentKey, (key) => pw.send(key, payload)))
      .handle("resend", ({ payload }) => Effect.flatMap(CurrentKey, (key) => pw.resend(key, payload.authRequestId)))
      .handle("verify", ({ payload }) => Effect.flatMap(CurrentKey, (key) => pw.verify(key, payload)))
      .handle("confirm", ({ payload }) => Effect.flatMap(CurrentKey, (key) => pw.confirm(key, payload)))
      .handle("status", ({ params }) => Effect.flatMap(CurrentKey, (key) => pw.status(key, params.authRequestId)))
  }))

export const TestOutboxHandlers = HttpApiBuilder.group(Api, "test", (h) =>
  Effect.gen(function* () {
    const outbox = yield* TestOutbox
    return h.handle("messages", ({ query }) =>
      Effect.gen(function* () {
        const key = yield* CurrentKey
        if (key.mode !== "test") {
          return yield* new ScopeMissing({ message: "The test outbox is only readable with a test key (sk_test_…)." })
        }
        const to = query.to === undefined ? undefined : normalizeEmail(query.to) ?? query.to
        return { messages: yield* outbox.list(key.tenantId, to, query.limit ?? 20) }
      }))
  }))

export const WellknownHandlers = HttpApiBuilder.group(Api, "wellknown", (h) =>
  Effect.gen(function* () {
    const signer = yield* TokenSigner
    const health = yield* Health
    return h
      .handle("jwks", () => Effect.andThen(cacheFor(JWKS_MAX_AGE_SECONDS), signer.jwks("live")))
      .handle("testJwks", () => Effect.andThen(cacheFor(JWKS_MAX_AGE_SECONDS), signer.jwks("test")))
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.flatMap(health.ready, (ready) =>
          ready
            ? Effect.succeed({ status: "ready" as const, database: "ok" as const })
            : Effect.fail(new ServiceUnavailable({ retryAfter: 5 }))))
  }))

export const Handlers = Layer.mergeAll(PasswordlessHandlers, TestOutboxHandlers, WellknownHandlers, WebhookHandlers)
