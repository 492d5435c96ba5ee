import { Clock, Context, Effect, Layer } from "effect"
import { NotFound, type ServiceUnavailable, ValidationFailed } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import {
  type CreateWebhook, type DeliveriesPage, type UpdateWebhook, type WebhookDelivery, WebhookDeliveryId,
  type WebhookEndpoint, WebhookEndpointId
} from "../api/Webhooks.ts"
import { randomId } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { WebhookSender } from "./Sender.ts"
import { newSecret } from "./Signature.ts"
import { type PageRequest, secretAad, WebhookStore } from "./WebhookStore.ts"

type Caller = CurrentKey["Service"]

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000

export class Webhooks extends Context.Service<Webhooks, {
  readonly create: (caller: Caller, request: CreateWebhook) => Effect.Effect<
    { readonly endpoint: WebhookEndpoint; readonly secret: string }, ValidationFailed | ServiceUnavailable>
  readonly list: (caller: Caller) => Effect.Effect<{ readonly endpoints: ReadonlyArray<WebhookEndpoint> }, ServiceUnavailable>
  readonly get: (caller: Caller, id: WebhookEndpointId) => Effect.Effect<WebhookEndpoint, NotFound | ServiceUnavailable>
  readonly update: (caller: Caller, id: WebhookEndpointId, patch: UpdateWebhook) => Effect.Effect<
    WebhookEndpoint, ValidationFailed | NotFound | ServiceUnavailable>
  readonly remove: (caller: Caller, id: WebhookEndpointId) => Effect.Effect<void, NotFound | ServiceUnavailable>
  readonly rotateSecret: (caller: Caller, id: WebhookEndpointId) => Effect.Effect<
    { readonly endpoint: WebhookEndpoint; readonly secret: string; readonly previousSecretExpiresAt: string },
    NotFound | ServiceUnavailable>
  readonly deliveries: (
    caller: Caller,
    id: WebhookEndpointId,
    query: { readonly limit?: number; readonly cursor?: string; readonly status?: WebhookDelivery["status"] }
  ) => Effect.Effect<DeliveriesPage, ValidationFailed | NotFound | ServiceUnavailable>
  readonly retry: (caller: Caller, id: WebhookDeliveryId) => Effect.Effect<WebhookDelivery, NotFound | ServiceUnavailable>
  /** Queues a `webhook.test` event (Events.ts `TEST_EVENT`) for this endpoint alone, delivered like any other. */
  readonly sendTest: (caller: Caller, id: WebhookEndpointId) => Effect.Effect<
    { readonly eventId: string; readonly deliveryId: WebhookDeliveryId }, NotFound | ServiceUnavailable>
}>()("sesame/Webhooks") {}

const owner = (caller: Caller) => ({ tenantId: caller.tenantId, mode: caller.mode })
const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
const orNotFound = <A>(value: A | undefined) => (value === undefined ? Effect.fail(new NotFound({})) : Effect.succeed(value))

const decodeCursor = (cursor: string): PageRequest["after"] | ValidationFailed => {
  const match = /^(\d{1,15}):(whd_[0-9A-Za-z]{16,40})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  return match?.[1] === undefined || match[2] === undefined
    ? new ValidationFailed({ message: "cursor is not a cursor of this list", field: "cursor" })
    : { createdAt: new Date(Number(match[1])), id: match[2] }
}

export const make = Effect.gen(function* () {
  const store = yield* WebhookStore
  const secrets = yield* Secrets
  const sender = yield* WebhookSender

  /** The URL's form and, at registration, where it resolves now; checked again at every delivery. */
  const checkUrl = (url: string) =>
    sender.check(url).pipe(Effect.catchTag("OutboundError", (error) =>
      error.refused
        ? Effect.fail(new ValidationFailed({ message: `url: ${error.reason}`, field: "url" }))
        // A name that does not resolve yet is accepted: deliveries retry until it does.
        : Effect.void))

  const create = Effect.fn("Webhooks.create")(function* (caller: Caller, request: CreateWebhook) {
    yield* checkUrl(request.url)
    const id = WebhookEndpointId.make(randomId("whe"))
    const secret = newSecret()
    const endpoint = yield* store.insert({
      ...owner(caller), id, url: request.url, description: request.description ?? null,
      events: [...new Set(request.events)], auth1Signature: request.auth1Signature ?? false,
      secretEnc: secrets.seal(secret, secretAad(caller.tenantId, id))
    }, yield* nowDate)
    return { endpoint, secret }
  })

  const update = Effect.fn("Webhooks.update")(function* (caller: Caller, id: WebhookEndpointId, patch: UpdateWebhook) {
    if (patch.url !== undefined) yield* checkUrl(patch.url)
    const events = patch.events === undefined ? {} : { events: [...new Set(patch.events)] }
    return yield* orNotFound(yield* store.update(owner(caller), id, { ...patch, ...events }, yield* nowDate))
  })

  const rotateSecret = Effect.fn("Webhooks.rotateSecret")(function* (caller: Caller, id: WebhookEndpointId) {
    const now = yield* nowDate
    const secret = newSecret()
    const until = new Date(now.getTime() + ROTATION_OVERLAP_MS)
    const endpoint = yield* orNotFound(
      yield* store.rotate(owner(caller), id, secrets.seal(secret, secretAad(caller.tenantId, id)), until, now)
    )
    return { endpoint, secret, previousSecretExpiresAt: until.toISOString() }
  })

  const deliveries = Effect.fn("Webhooks.deliveries")(function* (
    caller: Caller,
    id: WebhookEndpointId,
    query: { readonly limit?: number; readonly cursor?: string; readonly status?: WebhookDelivery["status"] }
  ) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
    if (after instanceof ValidationFailed) return yield* after
    return yield* orNotFound(yield* store.deliveries(owner(caller), id, { limit: query.limit ?? 20, after, status: query.status }))
  })

  const sendTest = Effect.fn("Webhooks.sendTest")(function* (caller: Caller, id: WebhookEndpointId) {
    const ids = { eventId: randomId("evt"), deliveryId: WebhookDeliveryId.make(randomId("whd")) }
    const queued = yield* store.enqueueTest(owner(caller), id, ids, yield* nowDate)
    return queued ? ids : yield* new NotFound({})
  })

  return Webhooks.of({
    create,
    list: (caller) => Effect.map(store.list(owner(caller)), (endpoints) => ({ endpoints })),
    get: (caller, id) => Effect.flatMap(store.get(owner(caller), id), orNotFound),
    update,
    remove: (caller, id) => Effect.flatMap(store.remove(owner(caller), id), (gone) => (gone ? Effect.void : Effect.fail(new NotFound({})))),
    rotateSecret,
    deliveries,
    retry: (caller, id) => Effect.flatMap(nowDate, (now) => Effect.flatMap(store.retry(owner(caller), id, now), orNotFound)),
    sendTest
  })
})

export const layer = Layer.effect(Webhooks)(make)
