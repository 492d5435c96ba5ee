import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { NotFound, ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

import { EventId, WebhookDeliveryId, WebhookEndpointId } from "../domain/Ids.ts"
export { EventId, WebhookDeliveryId, WebhookEndpointId }

/** The events an endpoint can subscribe to (API.md "webhooks"; the Auth1 seed's events). */
export const EventType = Schema.Literals([
  "user.created",
  "user.verified",
  "login.success",
  "login.failed",
  "fraud.detected",
  "session.revoked",
  "delivery.failed"
])
export type EventType = typeof EventType.Type

const Url = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(2048))
const Events = Schema.Array(EventType).check(Schema.isMinLength(1), Schema.isMaxLength(EventType.literals.length))
const Description = Schema.String.check(Schema.isMaxLength(500))

export const WebhookEndpoint = Schema.Struct({
  id: WebhookEndpointId,
  url: Schema.String,
  description: Schema.NullOr(Schema.String),
  events: Schema.Array(EventType),
  /** Also sign with Auth1's `x-auth1-signature` (hex HMAC-SHA256 of the body, keyed with the secret). */
  auth1Signature: Schema.Boolean,
  status: Schema.Literals(["enabled", "disabled"]),
  disabledAt: Schema.NullOr(Schema.String),
  disabledReason: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})
export type WebhookEndpoint = typeof WebhookEndpoint.Type

export const CreateWebhook = Schema.Struct({
  url: Url,
  events: Events,
  description: Schema.optionalKey(Description),
  auth1Signature: Schema.optionalKey(Schema.Boolean)
})
export type CreateWebhook = typeof CreateWebhook.Type

export const UpdateWebhook = Schema.Struct({
  url: Schema.optionalKey(Url),
  events: Schema.optionalKey(Events),
  description: Schema.optionalKey(Schema.NullOr(Description)),
  auth1Signature: Schema.optionalKey(Schema.Boolean),
  /** `true` re-enables an endpoint that was disabled (by hand, by a 410, or after days of failures). */
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type UpdateWebhook = typeof UpdateWebhook.Type

/** The secret is returned here only: it is stored encrypted and never shown again. */
export const WebhookWithSecret = Schema.Struct({ endpoint: WebhookEndpoint, secret: Schema.String })

export const RotatedSecret = Schema.Struct({
  endpoint: WebhookEndpoint,
  secret: Schema.String,
  /** Until then every delivery is signed with both the new and the previous secret. */
  previousSecretExpiresAt: Schema.String
})

export const DeliveryAttempt = Schema.Struct({
  attempt: Schema.Int,
  at: Schema.String,
  /** null when no HTTP response came back (refused address, connection error, timeout). */
  statusCode: Schema.NullOr(Schema.Int),
  latencyMs: Schema.Int,
  error: Schema.NullOr(Schema.String)
})

export const DeliveryStatus = Schema.Literals(["pending", "sending", "succeeded", "failed"])

export const WebhookDelivery = Schema.Struct({
  id: WebhookDeliveryId,
  endpointId: WebhookEndpointId,
  eventId: EventId,
  eventType: Schema.String,
  status: DeliveryStatus,
  /** When the next attempt is due (pending deliveries only). */
  nextAttemptAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  completedAt: Schema.NullOr(Schema.String),
  attempts: Schema.Array(DeliveryAttempt)
})
export type WebhookDelivery = typeof WebhookDelivery.Type

export const DeliveriesQuery = {
  limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))),
  /** `nextCursor` of the previous page. */
  cursor: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  status: Schema.optionalKey(DeliveryStatus)
}

export const DeliveriesPage = Schema.Struct({
  deliveries: Schema.Array(WebhookDelivery),
  nextCursor: Schema.NullOr(Schema.String)
})
export type DeliveriesPage = typeof DeliveriesPage.Type

const EndpointPath = { endpointId: WebhookEndpointId }

export class WebhooksApi extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("create", "/v1/webhooks", {
      payload: CreateWebhook,
      success: WebhookWithSecret.pipe(Schema.annotate({ httpApiStatus: 201 })),
      error: [ValidationFailed, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.get("list", "/v1/webhooks", {
      success: Schema.Struct({ endpoints: Schema.Array(WebhookEndpoint) }),
      error: ServiceUnavailable
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.get("get", "/v1/webhooks/:endpointId", {
      params: EndpointPath,
      success: WebhookEndpoint,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.patch("update", "/v1/webhooks/:endpointId", {
      params: EndpointPath,
      payload: UpdateWebhook,
      success: WebhookEndpoint,
      error: [ValidationFailed, NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.delete("delete", "/v1/webhooks/:endpointId", {
      params: EndpointPath,
      success: HttpApiSchema.NoContent,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.post("rotateSecret", "/v1/webhooks/:endpointId/rotate-secret", {
      params: EndpointPath,
      success: RotatedSecret,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.get("deliveries", "/v1/webhooks/:endpointId/deliveries", {
      params: EndpointPath,
      query: DeliveriesQuery,
      success: DeliveriesPage,
      error: [ValidationFailed, NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage"),
    HttpApiEndpoint.post("retry", "/v1/webhooks/deliveries/:deliveryId/retry", {
      params: { deliveryId: WebhookDeliveryId },
      success: WebhookDelivery.pipe(Schema.annotate({ httpApiStatus: 202 })),
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "webhooks:manage")
  )
  .middleware(ApiKeyAuth) {}
