import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { TestMessage } from "../api/TestOutbox.ts"
import { type MessagePayload, Outbox, type StoredTestMessage } from "../delivery/Outbox.ts"
import type { MessageId, TenantId } from "../domain/Ids.ts"
import { AppConfig } from "../platform/Config.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { CodeStore } from "./CodeStore.ts"
import { renderDeferred } from "./Enumeration.ts"

/**
 * The test outbox (`GET /v1/test/messages`): what test keys would have sent. Test sends store only the
 * credentials (Outbox `DeferredPayload`); the messages are rendered here, when read, with the tenant's
 * test-mode settings and the auth request they belong to, as of the moment they were sent.
 */
export class TestOutbox extends Context.Service<TestOutbox, {
  readonly list: (tenantId: TenantId, to: string | undefined, limit: number) => Effect.Effect<ReadonlyArray<TestMessage>, ServiceUnavailable>
  /** One message of `list` by its id (the console's email preview); undefined when the tenant has no such test message. */
  readonly get: (tenantId: TenantId, id: MessageId) => Effect.Effect<TestMessage | undefined, ServiceUnavailable>
}>()("sesame/TestOutbox") {}

export const layer = Layer.effect(TestOutbox)(Effect.gen(function* () {
  const outbox = yield* Outbox
  const store = yield* CodeStore
  const tenants = yield* Tenants
  const publicUrl = (yield* AppConfig).publicUrl

  const rendered = (tenantId: TenantId, message: StoredTestMessage) =>
    Effect.gen(function* () {
      const payload = message.payload
      if (payload === undefined || !("deferred" in payload)) return payload
      if (message.authRequestId === null) return undefined
      const row = yield* store.get({ tenantId, mode: "test" }, message.authRequestId)
      if (row === undefined) return undefined
      const tenant = yield* tenants.get(tenantId).pipe(Effect.catchTag("NotFound", () => Effect.succeed(undefined)))
      if (tenant === undefined) return undefined
      return renderDeferred(row, payload, tenant.modes.test.policy, message.createdAt.getTime(), publicUrl)
    })

  const toWire = (message: StoredTestMessage, email: MessagePayload | undefined): TestMessage => {
    const isEmail = message.channel === "email"
    return {
      id: message.id,
      authRequestId: message.authRequestId,
      channel: message.channel,
      to: message.to,
      subject: isEmail ? email?.subject ?? null : null,
      text: email?.text ?? "",
      html: isEmail ? email?.html ?? null : null,
      createdAt: message.createdAt.toISOString()
    }
  }

  return TestOutbox.of({
    list: (tenantId, to, limit) =>
      Effect.flatMap(outbox.listTest(tenantId, to, limit), (messages) =>
        Effect.forEach(messages, (message) => Effect.map(rendered(tenantId, message), (email) => toWire(message, email)))),
    get: (tenantId, id) =>
      Effect.flatMap(outbox.testMessage(tenantId, id), (message) =>
        message === undefined ? Effect.succeed(undefined) : Effect.map(rendered(tenantId, message), (email) => toWire(message, email)))
  })
}))
