import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import type { EventType, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId } from "../api/Webhooks.ts"
import { unavailable } from "../platform/Sql.ts"
import { fanOutSql, claimSql, type ClaimRow } from "./WebhookQueries.ts"
import { TEST_EVENT } from "./Events.ts"
import { type Claimed, type Owner, WebhookStore } from "./WebhookStore.ts"

interface EndpointRow {
  readonly id: WebhookEndpointId
  readonly url: string
  readonly description: string | null
  readonly events: ReadonlyArray<EventType>
  readonly auth1Signature: boolean
  readonly status: "enabled" | "disabled"
  readonly disabledAt: Date | null
  readonly disabledReason: string | null
  readonly createdAt: Date
}

interface DeliveryRow {
  readonly id: WebhookDeliveryId
  readonly endpointId: WebhookEndpointId
  readonly eventId: WebhookDelivery["eventId"]
  readonly eventType: string
  readonly status: WebhookDelivery["status"]
  readonly nextAttemptAt: Date
  readonly createdAt: Date
  readonly completedAt: Date | null
  readonly attemptLog: ReadonlyArray<{
    readonly attempt: number
    readonly at: number
    readonly statusCode: number | null
    readonly latencyMs: number
    readonly error: string | null
  }>
}

const ENDPOINT = "id, url, description, events, auth1_signature, status, disabled_at, disabled_reason, created_at"

const iso = (d: Date | null) => (d === null ? null : d.toISOString())

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id, url: row.url, description: row.description, events: row.events, auth1Signature: row.auth1Signature,
  status: row.status, disabledAt: iso(row.disabledAt), disabledReason: row.disabledReason, createdAt: row.createdAt.toISOString()
})

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id, endpointId: row.endpointId, eventId: row.eventId, eventType: row.eventType, status: row.status,
  nextAttemptAt: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
  createdAt: row.createdAt.toISOString(), completedAt: iso(row.completedAt),
  attempts: row.attemptLog.map((a) => ({ ...a, at: new Date(a.at).toISOString() }))
})

const toClaimed = (row: ClaimRow): Claimed => ({
  tenantId: row.tenantId, mode: row.mode, id: row.id, endpointId: row.endpointId, attempts: row.attempts, url: row.url,
  auth1Signature: row.auth1Signature, secretEnc: row.secretEnc, previousSecretEnc: row.previousSecretEnc,
  event: row.eventType === null || row.eventCreatedAt === null
    ? null
    : { id: row.eventId, type: row.eventType, createdAt: row.eventCreatedAt, payload: row.eventPayload }
})

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const endpointCols = sql.unsafe(ENDPOINT)
  const owned = (owner: Owner, id: string) => sql`tenant_id = ${owner.tenantId} AND mode = ${owner.mode} AND id = ${id}`
  const one = (rows: ReadonlyArray<EndpointRow>) => (rows[0] === undefined ? undefined : toEndpoint(rows[0]))

  const deliverySelect = sql`
    SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.next_attempt_at, d.created_at, d.completed_at,
      COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt,
          'at', (extract(epoch FROM a.started_at) * 1000)::float8, 'statusCode', a.status_code,
          'latencyMs', a.latency_ms, 'error', a.error) ORDER BY a.attempt)
        FROM webhook_attempts a WHERE a.tenant_id = d.tenant_id AND a.delivery_id = d.id), '[]'::json) AS attempt_log
    FROM webhook_deliveries d JOIN webhook_endpoints w ON w.tenant_id = d.tenant_id AND w.id = d.endpoint_id`

  const deliveryById = (owner: Owner, id: WebhookDeliveryId) =>
    unavailable(sql<DeliveryRow>`${deliverySelect}
      WHERE d.tenant_id = ${owner.tenantId} AND d.id = ${id} AND w.mode = ${owner.mode}`).pipe(
      Effect.map((rows) => (rows[0] === undefined ? undefined : toDelivery(rows[0]))))

  const get = (owner: Owner, id: WebhookEndpointId) =>
    unavailable(sql<EndpointRow>`SELECT ${endpointCols} FROM webhook_endpoints WHERE ${owned(owner, id)}`).pipe(Effect.map(one))

  return WebhookStore.of({
    insert: (endpoint, now) =>
      unavailable(sql<EndpointRow>`INSERT INTO webhook_endpoints ${sql.insert({
        tenantId: endpoint.tenantId, id: endpoint.id, mode: endpoint.mode, url: endpoint.url,
        description: endpoint.description, events: sql.json(endpoint.events), auth1Signature: endpoint.auth1Signature,
        secretEnc: endpoint.secretEnc, status: "enabled", createdAt: now, updatedAt: now
      })} RETURNING ${endpointCols}`).pipe(Effect.map((rows) => toEndpoint(rows[0] as EndpointRow))),

    list: (owner) =>
      unavailable(sql<EndpointRow>`SELECT ${endpointCols} FROM webhook_endpoints
        WHERE tenant_id = ${owner.tenantId} AND mode = ${owner.mode} ORDER BY created_at, id`).pipe(
        Effect.map((rows) => rows.map(toEndpoint))),

    get,

    update: (owner, id, patch, now) => {
      const enabled = patch.enabled ?? null
      return unavailable(sql<EndpointRow>`
        UPDATE webhook_endpoints SET
          url = COALESCE(${patch.url ?? null}::text, url),
          events = COALESCE(${patch.events === undefined ? null : JSON.stringify(patch.events)}::jsonb, events),
          description = CASE WHEN ${patch.description !== undefined} THEN ${patch.description ?? null}::text ELSE description END,
          auth1_signature = COALESCE(${patch.auth1Signature ?? null}::boolean, auth1_signature),
          status = CASE ${enabled}::boolean WHEN true THEN 'enabled' WHEN false THEN 'disabled' ELSE status END,
          disabled_at = CASE WHEN ${enabled}::boolean THEN NULL
            WHEN NOT ${enabled}::boolean AND status = 'enabled' THEN ${now} ELSE disabled_at END,
          disabled_reason = CASE WHEN ${enabled}::boolean THEN NULL
            WHEN NOT ${enabled}::boolean AND status = 'enabled' THEN 'disabled through the API' ELSE disabled_reason END,
          failing_since = CASE WHEN ${enabled}::boolean THEN NULL ELSE failing_since END,
          updated_at = ${now}
        WHERE ${owned(owner, id)} RETURNING ${endpointCols}`).pipe(Effect.map(one))
    },

    remove: (owner, id) =>
      unavailable(sql`DELETE FROM webhook_endpoints WHERE ${owned(owner, id)} RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0)),

    rotate: (owner, id, secretEnc, previousUntil, now) =>
      unavailable(sql<EndpointRow>`
        UPDATE webhook_endpoints SET previous_secret_enc = secret_enc, previous_secret_expires_at = ${previousUntil},
          secret_enc = ${secretEnc}, updated_at = ${now}
        WHERE ${owned(owner, id)} RETURNING ${endpointCols}`).pipe(Effect.map(one)),

    deliveries: (owner, endpointId, page) =>
      Effect.gen(function* () {
        if ((yield* get(owner, endpointId)) === undefined) return undefined
        const rows = yield* unavailable(sql<DeliveryRow>`${deliverySelect}
          WHERE d.tenant_id = ${owner.tenantId} AND d.endpoint_id = ${endpointId}
            ${page.status === undefined ? sql`` : sql`AND d.status = ${page.status}`}
            ${page.after === undefined ? sql`` : sql`AND (d.created_at, d.id) < (${page.after.createdAt}, ${page.after.id})`}
          ORDER BY d.created_at DESC, d.id DESC LIMIT ${page.limit + 1}`)
        const shown = rows.slice(0, page.limit)
        const last = shown[shown.length - 1]
        return {
          deliveries: shown.map(toDelivery),
          nextCursor: rows.length > page.limit && last !== undefined
            ? Buffer.from(`${last.createdAt.getTime()}:${last.id}`).toString("base64url")
            : null
        }
      }),

    enqueueTest: (owner, endpointId, ids, now) =>
      unavailable(sql`
        WITH w AS (
          SELECT tenant_id, id, mode FROM webhook_endpoints WHERE ${owned(owner, endpointId)}
        ), e AS (
          INSERT INTO events (tenant_id, id, mode, type, payload, created_at, dispatched_at)
          SELECT tenant_id, ${ids.eventId}, mode, ${TEST_EVENT}, jsonb_build_object('endpointId', id), ${now}, ${now} FROM w
          RETURNING tenant_id, id
        )
        INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
        SELECT tenant_id, ${ids.deliveryId}, ${endpointId}, id, ${TEST_EVENT}, 'pending', 0, ${now}, ${now} FROM e
        RETURNING id`).pipe(Effect.map((rows) => rows.length > 0)),

    retry: (owner, id, now) =>
      Effect.andThen(
        unavailable(sql`
          UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = ${now}, completed_at = NULL, locked_until = NULL
          FROM webhook_endpoints w
          WHERE d.tenant_id = ${owner.tenantId} AND d.id = ${id} AND w.tenant_id = d.tenant_id AND w.id = d.endpoint_id
            AND w.mode = ${owner.mode} AND d.status <> 'sending'`),
        deliveryById(owner, id)
      ),

    fanOut: (now, limit) =>
      unavailable(fanOutSql(sql, now, limit)).pipe(Effect.map((rows) => rows[0]?.events ?? 0)),

    claim: (now, leaseMs, limit) =>
      unavailable(claimSql(sql, now, new Date(now.getTime() + leaseMs), limit)).pipe(Effect.map((rows) => rows.map(toClaimed))),

    finish: (claimed, attempt, outcome, now, disableAfterMs) =>
      Effect.gen(function* () {
        const status = outcome._tag === "Succeeded" ? "succeeded" : outcome._tag === "Retry" ? "pending" : "failed"
        const next = outcome._tag === "Retry" ? outcome.nextAttemptAt : null
        const recorded = yield* unavailable(sql`
          WITH d AS (
            UPDATE webhook_deliveries SET status = ${status}, next_attempt_at = COALESCE(${next}::timestamptz, next_attempt_at),
              locked_until = NULL, last_status_code = ${attempt.statusCode}::integer, last_error = ${attempt.error}::text,
              completed_at = ${status === "pending" ? null : now}::timestamptz
            WHERE tenant_id = ${claimed.tenantId} AND id = ${claimed.id} AND status = 'sending' AND attempts = ${claimed.attempts}
            RETURNING tenant_id, id, attempts)
          INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, started_at, status_code, latency_ms, error)
          SELECT tenant_id, id, attempts, ${attempt.startedAt}, ${attempt.statusCode}::integer, ${attempt.latencyMs},
            ${attempt.error}::text FROM d
          RETURNING attempt`)
        if (recorded.length === 0) return { recorded: false, disabled: undefined }
        const endpoint = sql`tenant_id = ${claimed.tenantId} AND id = ${claimed.endpointId}`
        if (outcome._tag === "Succeeded") {
          yield* unavailable(sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE ${endpoint} AND failing_since IS NOT NULL`)
          return { recorded: true, disabled: undefined }
        }
        yield* unavailable(sql`UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ${now}) WHERE ${endpoint}`)
        const forced = outcome._tag === "Failed" ? outcome.disable : null
        const streak = disableAfterMs >= 172_800_000 ? `${Math.round(disableAfterMs / 86_400_000)} days`
          : `${Math.round(disableAfterMs / 360_000) / 10} h`
        // One statement decides the transition, so concurrent failures disable (and audit) it once.
        const disabled = yield* unavailable(sql<{ readonly id: WebhookEndpointId; readonly url: string; readonly disabledReason: string }>`
          UPDATE webhook_endpoints SET status = 'disabled', disabled_at = ${now}, updated_at = ${now},
            disabled_reason = ${forced ?? `every delivery failed for ${streak}`}
          WHERE ${endpoint} AND status = 'enabled'
            AND (${forced !== null} OR failing_since <= ${new Date(now.getTime() - disableAfterMs)})
          RETURNING id, url, disabled_reason`)
        const row = disabled[0]
        return { recorded: true, disabled: row === undefined ? undefined : { endpointId: row.id, reason: row.disabledReason, url: row.url } }
      }),

    renew: (claimed, lockedUntil) =>
      unavailable(sql`UPDATE webhook_deliveries SET locked_until = ${lockedUntil}
        WHERE tenant_id = ${claimed.tenantId} AND id = ${claimed.id} AND status = 'sending' AND attempts = ${claimed.attempts}
        RETURNING id`).pipe(Effect.map((rows) => rows.length > 0)),

    release: (claimed, now) =>
      unavailable(sql`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ${now}, locked_until = NULL
        WHERE tenant_id = ${claimed.tenantId} AND id = ${claimed.id} AND status = 'sending' AND attempts = ${claimed.attempts}`)
        .pipe(Effect.asVoid)
  })
})

export const layer = Layer.effect(WebhookStore)(make)
