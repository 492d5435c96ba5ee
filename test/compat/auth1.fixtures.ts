/**
 * The Auth1 seed's documented examples (seeds/002), as the seed shows them: the request it sends and
 * the response it documents, reduced to the shape and types a client relies on. `{{…}}` in a request is
 * filled from earlier answers of the same replay (the seed's own placeholders are its example values).
 */

/** A type a documented field has: a JSON type, a UUID, a JWT, a score in [0, 1], one of listed strings. */
export type FieldType =
  | "string" | "boolean" | "number" | "uuid" | "jwt" | "score"
  | { readonly oneOf: ReadonlyArray<string> }
  | { readonly equals: string | number | boolean }
  | { readonly startsWith: string }
  | { readonly [field: string]: FieldType }

export interface Fixture {
  readonly name: string
  readonly method: "GET" | "POST"
  /** Under `/api/auth` (the seed's base `https://auth-api.z101.ai/api/auth`). */
  readonly path: string
  /** How the seed's example authenticates: `x-api-key`, `Authorization: Bearer <token>`, or nothing. */
  readonly auth: "apiKey" | "bearer" | "none"
  readonly body?: Readonly<Record<string, string>>
  readonly status: number
  /** The documented response body's fields; `undefined`: the seed documents no body. */
  readonly shape?: { readonly [field: string]: FieldType }
}

/** "SMS OTP": the curl / fetch / requests example and its "Example Response". */
export const smsRequest: Fixture = {
  name: "POST /api/auth/sms/request",
  method: "POST",
  path: "/sms/request",
  auth: "apiKey",
  body: { phone: "+18005551234", email: "user@example.com", tenant: "your-tenant" },
  status: 200,
  shape: {
    phoneVerificationId: "uuid",
    phoneType: { oneOf: ["mobile", "landline", "voip"] },
    isVoip: "boolean",
    riskScore: "score",
    message: "string",
    provider: "string"
  }
}

/** "Verify Code": the example request and its "Example Response". */
export const smsVerify: Fixture = {
  name: "POST /api/auth/sms/verify",
  method: "POST",
  path: "/sms/verify",
  auth: "apiKey",
  body: { phoneVerificationId: "{{phoneVerificationId}}", verificationCode: "{{code}}", email: "user@example.com" },
  status: 200,
  shape: {
    // "usr_abc123", "eyJhbGciOiJIUzI1NiIs...", "rt_d4e5f6a7b8c9..."
    user: { id: { startsWith: "usr_" }, phone: { equals: "+18005551234" }, email: { equals: "user@example.com" } },
    token: "jwt",
    refreshToken: { startsWith: "rt_" }
  }
}

/** "Get Current Session": `curl …/session -H "Authorization: Bearer …"` (no key). The body is undocumented. */
export const session: Fixture = { name: "GET /api/auth/session", method: "GET", path: "/session", auth: "bearer", status: 200 }

/** "Refresh Token": `-d '{ "refreshToken": "rt_…" }'` (no key, no bearer). The body is undocumented. */
export const refresh: Fixture = {
  name: "POST /api/auth/refresh",
  method: "POST",
  path: "/refresh",
  auth: "none",
  body: { refreshToken: "{{refreshToken}}" },
  status: 200
}

/** "Logout": `curl -X POST …/logout -H "Authorization: Bearer …"` (no key, no body). */
export const logout: Fixture = { name: "POST /api/auth/logout", method: "POST", path: "/logout", auth: "bearer", status: 200 }

/** The seed's flow, in order: send, verify, then the session endpoints. */
export const flow: ReadonlyArray<Fixture> = [smsRequest, smsVerify, session, refresh, logout]

/** "Error Response Format": `{ "error": "CODE_EXPIRED", "message": "…", "statusCode": 400 }`. */
export const errorFormat = {
  status: 400,
  shape: { error: { equals: "CODE_EXPIRED" }, message: "string", statusCode: { equals: 400 } }
} as const

/** "429 Response": `{ "error": "RATE_LIMIT_EXCEEDED", "message": "…42 seconds.", "retryAfter": 42, "statusCode": 429 }`. */
export const rateLimited = {
  status: 429,
  shape: { error: { equals: "RATE_LIMIT_EXCEEDED" }, message: "string", retryAfter: "number", statusCode: { equals: 429 } }
} as const

/** "Custom Branding" → "SMS Templates": the "Example SMS", with Auth1's `{{code}}` and `{{appName}}` placeholders. */
export const smsTemplate = "Your {{appName}} verification code is {{code}}. Expires in 10 minutes."

/** "Rate Limit Headers": "Every response includes" them. */
export const rateLimitHeaders = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] as const
