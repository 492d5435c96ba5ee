import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { CurrentKey } from "../api/Security.ts"
import { Webhooks } from "../webhooks/Webhooks.ts"

export const WebhookHandlers = HttpApiBuilder.group(Api, "webhooks", (h) =>
  Effect.gen(function* () {
    const webhooks = yield* Webhooks
    return h
      .handle("create", ({ payload }) => Effect.flatMap(CurrentKey, (key) => webhooks.create(key, payload)))
      .handle("list", () => Effect.flatMap(CurrentKey, (key) => webhooks.list(key)))
      .handle("get", ({ params }) => Effect.flatMap(CurrentKey, (key) => webhooks.get(key, params.endpointId)))
      .handle("update", ({ params, payload }) => Effect.flatMap(CurrentKey, (key) => webhooks.update(key, params.endpointId, payload)))
      .handle("delete", ({ params }) => Effect.flatMap(CurrentKey, (key) => webhooks.remove(key, params.endpointId)))
      .handle("rotateSecret", ({ params }) => Effect.flatMap(CurrentKey, (key) => webhooks.rotateSecret(key, params.endpointId)))
      .handle("deliveries", ({ params, query }) => Effect.flatMap(CurrentKey, (key) => webhooks.deliveries(key, params.endpointId, query)))
      .handle("retry", ({ params }) => Effect.flatMap(CurrentKey, (key) => webhooks.retry(key, params.deliveryId)))
  }))
