import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { EventType } from "../api/Webhooks.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"

/**
 * An operator's "send a test event" (the console, #14): sent to the one endpoint it was asked for,
 * never fanned out, so it is not among the events an endpoint subscribes to (`EventType`). Its
 * `data` is `{ endpointId }`.
 */
export const TEST_EVENT = "webhook.test"

export interface NewEvent {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly type: EventType
  /** The webhook's `data`: ids and facts, never a code, token or secret. */
  readonly payload: { readonly [key: string]: string | number | boolean | null }
}

/**
 * The transactional outbox of webhook events: `record` runs on the caller's SQL client, so the event
 * commits (or rolls back) with the change that caused it; the webhook worker fans it out later.
 */
export class Events extends Context.Service<Events, {
  readonly record: (event: NewEvent, now: Date) => Effect.Effect<void, ServiceUnavailable>
}>()("sesame/Events") {
  /** Records nothing (service tests that do not look at events). */
  static readonly layerTest = Layer.succeed(Events)({ record: () => Effect.void })
}
