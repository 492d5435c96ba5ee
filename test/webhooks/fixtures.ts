import { Clock, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { CurrentKey } from "../../src/api/Security.ts"
import type { EventType } from "../../src/api/Webhooks.ts"
import * as AuditPg from "../../src/audit/AuditPg.ts"
import { AllScopes, ApiKeyId, type Mode, TenantId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import * as TransactionLive from "../../src/platform/Transaction.ts"
import { Events } from "../../src/webhooks/Events.ts"
import * as EventsPg from "../../src/webhooks/EventsPg.ts"
import { OutboundError } from "../../src/webhooks/Resolver.ts"
import { type WebhookRequest, type WebhookResponse, WebhookSender } from "../../src/webhooks/Sender.ts"
import * as WebhooksLive from "../../src/webhooks/Webhooks.ts"
import * as WebhookStorePg from "../../src/webhooks/WebhookStorePg.ts"
import type { Database } from "../../src/platform/Database.ts"

/** What the fake sender answers; tests set it. */
export type Answer = (request: WebhookRequest) => Effect.Effect<WebhookResponse, OutboundError>

export const ok: Answer = () => Effect.succeed({ status: 200, retryAfter: undefined })
export const status = (code: number, retryAfter?: string): Answer => () => Effect.succeed({ status: code, retryAfter })
export const unreachable: Answer = () => Effect.fail(new OutboundError({ reason: "connect ECONNREFUSED", refused: false }))

/** A capturing WebhookSender: every URL passes `check`; `post` records the request and answers `answer`. */
export const fake = { requests: [] as Array<WebhookRequest>, answer: ok }

const FakeSender = Layer.succeed(WebhookSender)({
  check: () => Effect.void,
  post: (request) => Effect.suspend(() => {
    fake.requests.push(request)
    return fake.answer(request)
  })
})

/** The webhook store, service, event outbox and audit log on `db`, with the capturing sender. */
export const webhooksOn = (db: Layer.Layer<Database>) =>
  Layer.mergeAll(WebhooksLive.layer, EventsPg.layer, AuditPg.layer, TransactionLive.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(WebhookStorePg.layer, FakeSender)),
    Layer.provideMerge(Layer.merge(db, Secrets.layerTest))
  )

export const callerOf = (mode: Mode = "live", tenantId = TenantId.make(randomId("ten"))): CurrentKey["Service"] => ({
  keyId: ApiKeyId.make(randomId("key")),
  tenantId,
  mode,
  scopes: AllScopes
})

export const clockNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** Tests in a block share one database: each starts from no endpoints, events or audit entries. */
export const reset = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DELETE FROM webhook_endpoints`
  yield* sql`DELETE FROM events`
  yield* sql`DELETE FROM audit_log`
  fake.requests = []
  fake.answer = ok
}).pipe(Effect.orDie)

export const record = (caller: CurrentKey["Service"], type: EventType, payload: Record<string, string | null> = {}) =>
  Effect.gen(function* () {
    const events = yield* Events
    yield* events.record({ tenantId: caller.tenantId, mode: caller.mode, type, payload }, yield* clockNow)
  })

export interface DeliveryRow {
  readonly endpointId: string
  readonly eventType: string
  readonly status: string
  readonly attempts: number
  readonly nextAttemptAt: Date
}

export const deliveryRows = (tenantId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<DeliveryRow>`SELECT endpoint_id, event_type, status, attempts, next_attempt_at FROM webhook_deliveries
      WHERE tenant_id = ${tenantId} ORDER BY created_at, event_type`).pipe(Effect.orDie)

export const auditRows = (tenantId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly type: string; readonly subject: string; readonly details: Record<string, unknown> }>`
      SELECT type, subject, details FROM audit_log WHERE tenant_id = ${tenantId}`).pipe(Effect.orDie)
