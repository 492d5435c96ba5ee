/**
 * The JSON body of a webhook, in the Auth1 seed's shape:
 * `{ "id": "evt_…", "event": "login.success", "timestamp": "2026-…Z", "data": { … } }`.
 */
export interface StoredEvent {
  readonly id: string
  readonly type: string
  readonly createdAt: Date
  readonly payload: unknown
}

/** Sign-in events carry these keys always (null when not applicable), as Auth1's payloads do. */
const AUTH_KEYS = ["userId", "email", "phone", "method", "riskScore", "isVoip", "ip"] as const
const AUTH_EVENTS = new Set(["user.created", "user.verified", "login.success", "login.failed", "fraud.detected"])

/** Sessions record the RFC 8176 `amr` list; webhooks speak Auth1's method names. */
const methodName = (method: unknown): unknown => {
  if (!Array.isArray(method)) return method
  const amr = method.join(" ")
  if (amr === "otp email") return "email_otp"
  if (amr === "otp sms") return "sms_otp"
  if (amr === "link") return "magic_link"
  return amr
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const eventData = (type: string, payload: unknown): Record<string, unknown> => {
  const data = isRecord(payload) ? payload : {}
  if (!AUTH_EVENTS.has(type)) return data
  const out: Record<string, unknown> = {}
  for (const key of AUTH_KEYS) out[key] = key === "method" ? methodName(data[key] ?? null) : data[key] ?? null
  for (const [key, value] of Object.entries(data)) if (!(key in out)) out[key] = value
  return out
}

export const webhookBody = (event: StoredEvent): string =>
  JSON.stringify({
    id: event.id,
    event: event.type,
    timestamp: event.createdAt.toISOString(),
    data: eventData(event.type, event.payload)
  })
