import { Context, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type {
  DeliveriesPage, EventType, UpdateWebhook, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId
} from "../api/Webhooks.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import type { StoredEvent } from "./Payload.ts"

/** Endpoints and deliveries belong to one tenant and one key mode: test keys never see live ones. */
export interface Owner {
  readonly tenantId: TenantId
  readonly mode: Mode
}

export interface NewEndpoint extends Owner {
  readonly id: WebhookEndpointId
  readonly url: string
  readonly description: string | null
  readonly events: ReadonlyArray<EventType>
  readonly auth1Signature: boolean
  /** Sealed with SESAME_SECRET, bound to the endpoint (`secretAad`). */
  readonly secretEnc: Uint8Array
}

export const secretAad = (tenantId: string, endpointId: string) => `webhook-secret:${tenantId}:${endpointId}`

export interface PageRequest {
  readonly limit: number
  readonly after: { readonly createdAt: Date; readonly id: string } | undefined
  readonly status: WebhookDelivery["status"] | undefined
}

/**
 * A delivery the caller now holds a lease on. `attempts` counts this attempt and is the fencing
 * token of every mark, so a worker whose lease ran out cannot overwrite a newer attempt's result.
 */
export interface Claimed extends Owner {
  readonly id: WebhookDeliveryId
  readonly endpointId: WebhookEndpointId
  readonly attempts: number
  readonly url: string
  readonly auth1Signature: boolean
  readonly secretEnc: Uint8Array
  /** The secret before the last rotation, while it still signs (24 h). */
  readonly previousSecretEnc: Uint8Array | null
  /** null when the event row no longer exists. */
  readonly event: StoredEvent | null
}

export interface AttemptRecord {
  readonly startedAt: Date
  readonly statusCode: number | null
  readonly latencyMs: number
  readonly error: string | null
}

export type Outcome =
  | { readonly _tag: "Succeeded" }
  | { readonly _tag: "Retry"; readonly nextAttemptAt: Date }
  /** `disable`: the receiver asked to stop (410 Gone): the endpoint is disabled at once, for that reason. */
  | { readonly _tag: "Failed"; readonly disable: string | null }

export interface Finished {
  /** false: the lease had been lost (another worker took the delivery over); nothing was written. */
  readonly recorded: boolean
  /** Set when this result disabled the endpoint. */
  readonly disabled: { readonly endpointId: WebhookEndpointId; readonly reason: string; readonly url: string } | undefined
}

export class WebhookStore extends Context.Service<WebhookStore, {
  readonly insert: (endpoint: NewEndpoint, now: Date) => Effect.Effect<WebhookEndpoint, ServiceUnavailable>
  readonly list: (owner: Owner) => Effect.Effect<ReadonlyArray<WebhookEndpoint>, ServiceUnavailable>
  readonly get: (owner: Owner, id: WebhookEndpointId) => Effect.Effect<WebhookEndpoint | undefined, ServiceUnavailable>
  readonly update: (
    owner: Owner, id: WebhookEndpointId, patch: UpdateWebhook, now: Date
  ) => Effect.Effect<WebhookEndpoint | undefined, ServiceUnavailable>
  /** Deletes the endpoint with its deliveries and their attempts. */
  readonly remove: (owner: Owner, id: WebhookEndpointId) => Effect.Effect<boolean, ServiceUnavailable>
  /** The current secret becomes the previous one (signing until `previousUntil`); `secretEnc` the current. */
  readonly rotate: (
    owner: Owner, id: WebhookEndpointId, secretEnc: Uint8Array, previousUntil: Date, now: Date
  ) => Effect.Effect<WebhookEndpoint | undefined, ServiceUnavailable>
  /** Newest event first; undefined when the endpoint does not exist for this owner. */
  readonly deliveries: (
    owner: Owner, endpointId: WebhookEndpointId, page: PageRequest
  ) => Effect.Effect<DeliveriesPage | undefined, ServiceUnavailable>
  /**
   * A `webhook.test` event for this one endpoint (an operator's "send a test event"): the event row,
   * already marked dispatched so the fan-out leaves it alone, and its single delivery, due now, in one
   * statement. false when the endpoint does not exist for this owner.
   */
  readonly enqueueTest: (
    owner: Owner, endpointId: WebhookEndpointId, ids: { readonly eventId: string; readonly deliveryId: WebhookDeliveryId }, now: Date
  ) => Effect.Effect<boolean, ServiceUnavailable>
  /** Makes the delivery due now (unless an attempt is in flight); undefined when unknown. */
  readonly retry: (owner: Owner, id: WebhookDeliveryId, now: Date) => Effect.Effect<WebhookDelivery | undefined, ServiceUnavailable>

  /**
   * Turns up to `limit` undispatched events into one delivery per enabled, subscribed endpoint of the
   * same tenant and mode, in one statement. Returns how many events it took.
   */
  readonly fanOut: (now: Date, limit: number) => Effect.Effect<number, ServiceUnavailable>
  /** Leases up to `limit` due deliveries of enabled endpoints (`FOR UPDATE SKIP LOCKED`). */
  readonly claim: (now: Date, leaseMs: number, limit: number) => Effect.Effect<ReadonlyArray<Claimed>, ServiceUnavailable>
  /**
   * Records the attempt and its outcome, fenced by `claimed.attempts`, and keeps the endpoint's
   * failure streak: success clears it; a failure disables the endpoint when the streak has lasted
   * `disableAfterMs` (or at once for `Failed.disable`). Run it inside a transaction.
   */
  readonly finish: (
    claimed: Claimed, attempt: AttemptRecord, outcome: Outcome, now: Date, disableAfterMs: number
  ) => Effect.Effect<Finished, ServiceUnavailable>
  /** Extends a lease this worker still holds (fenced like `finish`) to `lockedUntil`; false when it no longer does. */
  readonly renew: (claimed: Claimed, lockedUntil: Date) => Effect.Effect<boolean, ServiceUnavailable>
  /** Gives a lease back at once (shutdown mid-send): due again now. */
  readonly release: (claimed: Claimed, now: Date) => Effect.Effect<void, ServiceUnavailable>
}>()("sesame/WebhookStore") {}
