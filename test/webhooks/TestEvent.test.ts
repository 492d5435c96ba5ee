/** An operator's test event (#14): one `webhook.test` event, delivered to the one endpoint asked for. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TEST_EVENT } from "../../src/webhooks/Events.ts"
import { WebhookStore } from "../../src/webhooks/WebhookStore.ts"
import { Webhooks } from "../../src/webhooks/Webhooks.ts"
import { defaults, runOnce } from "../../src/webhooks/Worker.ts"
import { backends } from "../delivery/fixtures.ts"
import { callerOf, clockNow, deliveryRows, fake, reset, webhooksOn } from "./fixtures.ts"

const hook = { url: "https://hooks.example.com/sesame", events: ["login.success" as const] }

for (const [name, db] of backends) {
  describe(`webhook test events on ${name}`, () => {
    it.layer(webhooksOn(db), { timeout: "120 seconds" })((it) => {
      it.effect("sendTest queues one signed webhook.test delivery for that endpoint alone, never fanned out", () =>
        Effect.gen(function* () {
          yield* reset
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const { endpoint } = yield* webhooks.create(caller, hook)
          const other = yield* webhooks.create(caller, hook)
          const queued = yield* webhooks.sendTest(caller, endpoint.id)

          assert.strictEqual(yield* (yield* WebhookStore).fanOut(yield* clockNow, 10), 0)
          assert.deepStrictEqual((yield* deliveryRows(caller.tenantId)).map((r) => [r.endpointId, r.eventType, r.status]), [
            [endpoint.id, TEST_EVENT, "pending"]
          ])
          assert.strictEqual(yield* runOnce(defaults), 1)
          const [request] = fake.requests
          assert.strictEqual(request?.headers["webhook-id"], queued.eventId)
          const body = JSON.parse(request?.body ?? "{}")
          assert.deepStrictEqual([body.id, body.event, body.data], [queued.eventId, TEST_EVENT, { endpointId: endpoint.id }])
          const [delivery] = (yield* webhooks.deliveries(caller, endpoint.id, {})).deliveries
          assert.deepStrictEqual([delivery?.id, delivery?.status, delivery?.attempts.length], [queued.deliveryId, "succeeded", 1])
          assert.deepStrictEqual((yield* webhooks.deliveries(caller, other.endpoint.id, {})).deliveries, [])

          for (const stranger of [callerOf(), { ...caller, mode: "test" as const }]) {
            assert.strictEqual((yield* Effect.flip(webhooks.sendTest(stranger, endpoint.id))).code, "NOT_FOUND")
          }
          assert.strictEqual((yield* deliveryRows(caller.tenantId)).length, 1)
        }))
    })
  })
}
