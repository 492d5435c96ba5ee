/**
 * The Authink seed's documented examples (seeds/000), as request → expected status and body shape.
 * A shape states only what the seed states (field names and types); where the seed leaves the answer
 * undocumented, the shape is COMPAT.md §1's resolution and says so.
 */

/** A JSON shape: a type name, an exact value, an object of shapes, or `[shape]` for an array of them. */
export type Shape =
  | "string" | "number" | "boolean" | "object" | "iso" | "jwt"
  | { readonly literal: string | number | boolean | null }
  | { readonly oneOf: ReadonlyArray<string> }
  | { readonly [field: string]: Shape }
  | readonly [Shape]

export interface Fixture {
  readonly name: string
  readonly method: "GET" | "POST" | "DELETE"
  /** Under `/compat/authink/v1`; `{…}` placeholders are filled by the test from the flow so far. */
  readonly path: string
  readonly body?: Record<string, unknown>
  readonly status: number
  readonly shape: Shape
}

const ok = { literal: true } as const

/** Seed "Error Responses": `{ error: { code, message, status, retry_after } }`. */
export const errorShape = (code: string, status: number, extra: Record<string, Shape> = {}): Shape => ({
  error: { code: { literal: code }, message: "string", status: { literal: status }, ...extra }
})

/** Seed §1 "Quick Start": `sendOTP({ email, expiresIn: 300 })`. Answer undocumented → COMPAT.md §1.7.1. */
export const quickStartSend: Fixture = {
  name: "Quick Start: sendOTP({ email, expiresIn: 300 })",
  method: "POST", path: "/otp/send",
  body: { email: "user@example.com", expiresIn: 300 },
  status: 200, shape: { success: ok, expiresAt: "iso" }
}

/** Seed §3 "Sending an OTP": every documented parameter. */
export const fullSend: Fixture = {
  name: "Sending an OTP: sendOTP({ email, expiresIn, length, subject, metadata })",
  method: "POST", path: "/otp/send",
  body: {
    email: "user@example.com", expiresIn: 300, length: 6, subject: "Your verification code",
    metadata: { userId: "usr_12345", ipAddress: "192.168.1.1" }
  },
  status: 200, shape: { success: ok, expiresAt: "iso" }
}

/** Seed "Verify an OTP" with the code from the email; "Response Object" table. */
export const verifyOtp: Fixture = {
  name: "Verify an OTP: verifyOTP({ email, code }) → { success, session: { token, expiresAt, user: { id } } }",
  method: "POST", path: "/otp/verify",
  body: { email: "user@example.com", code: "{code}" },
  status: 200, shape: { success: ok, session: { token: "jwt", expiresAt: "iso", user: { id: "string" } } }
}

/** Seed "Verify an OTP", the example code `847291` (not the one sent): `result.success` false, `error.code` "invalid". */
export const verifyWrongOtp: Fixture = {
  name: "Verify an OTP with the seed's example code 847291 → { success: false, error: { code: \"invalid\" } }",
  method: "POST", path: "/otp/verify",
  body: { email: "user@example.com", code: "847291" },
  status: 400, shape: { success: { literal: false }, ...errorShape("invalid", 400) as Record<string, Shape> }
}

/** Seed §6: `verifySession(token)` → `{ valid: true, user: {...}, expiresAt: '...' }`. */
export const verifySession: Fixture = {
  name: "Session Management: verifySession(token) → { valid: true, user, expiresAt }",
  method: "POST", path: "/sessions/verify",
  body: { token: "{token}" },
  status: 200, shape: { valid: ok, user: "object", expiresAt: "iso" }
}

/** Seed §6: `revokeSession(sessionId)`. Answer undocumented → COMPAT.md §1.3 (`200 { success: true }`). */
export const revokeSession: Fixture = {
  name: "Session Management: revokeSession(sessionId)",
  method: "DELETE", path: "/sessions/{sessionId}",
  status: 200, shape: { success: ok }
}

/** Seed §6: `revokeAllSessions(userId)`, SDK only; path per COMPAT.md §1.1 A8. */
export const revokeAllSessions: Fixture = {
  name: "Session Management: revokeAllSessions(userId)",
  method: "DELETE", path: "/users/{userId}/sessions",
  status: 200, shape: { success: ok, revoked: "number" }
}

/** Seed §7: `listAPIKeys()` → "array of key objects with name, prefix, status, created_at". */
export const listKeys: Fixture = {
  name: "API Keys: listAPIKeys() → [{ name, prefix, status, created_at }]",
  method: "GET", path: "/keys",
  status: 200, shape: [{ name: "string", prefix: "string", status: { oneOf: ["active", "revoked", "expired"] }, created_at: "iso" }]
}

/**
 * Seed §7: `createAPIKey({...})` → `newKey.key` ("Store this key securely - you won't see it again!"),
 * a key object like the listing's (name, prefix, status, created_at) with what was asked for.
 */
export const createKey: Fixture = {
  name: "API Keys: createAPIKey({ name, scopes, expiresAt: null, ipWhitelist }) → { key }",
  method: "POST", path: "/keys",
  body: {
    name: "Production Server", scopes: ["otp:send", "otp:verify", "sessions:read"], expiresAt: null,
    ipWhitelist: ["192.168.1.0/24"]
  },
  status: 201,
  shape: {
    key: "string", name: { literal: "Production Server" }, prefix: "string", status: { literal: "active" }, created_at: "iso",
    scopes: [{ oneOf: ["otp:send", "otp:verify", "sessions:read"] }], expires_at: { literal: null },
    ip_whitelist: [{ literal: "192.168.1.0/24" }]
  }
}

/** Seed §7: `revokeAPIKey('key_abc123')`, SDK only (COMPAT.md A9); no such key on a fresh tenant. */
export const revokeUnknownKey: Fixture = {
  name: "API Keys: revokeAPIKey('key_abc123') on a tenant without that key",
  method: "DELETE", path: "/keys/key_abc123",
  status: 404, shape: errorShape("not_found", 404)
}

/**
 * Seed "Error Responses", word for word: the answer to the 11th OTP to one email within a minute (all
 * eleven at one instant of the test clock, so the window frees in exactly 60 seconds).
 */
export const rateLimitError = {
  error: { code: "rate_limit_exceeded", message: "Too many requests. Please try again in 60 seconds.", status: 429, retry_after: 60 }
} as const

/** Seed §10 "Rate Limit Headers": on every response. */
export const rateLimitHeaders = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] as const

/** Seed §10's header example (`X-RateLimit-Limit: 10`, `X-RateLimit-Remaining: 7`): the third OTP to one email. */
export const rateLimitHeaderExample = { "x-ratelimit-limit": "10", "x-ratelimit-remaining": "7" } as const

/**
 * Seed §10 "Endpoint Limits" (the monthly plan limit per key has no Sesame counterpart: docs/compat.md).
 * `sends` is how many the window admits; the next one is 429 `rate_limit_exceeded`.
 */
export const endpointLimits = [
  { endpoint: "POST /v1/otp/send", path: "/otp/send", limit: 10, window: "minute" },
  { endpoint: "POST /v1/otp/send", path: "/otp/send", limit: 50, window: "hour" },
  { endpoint: "POST /v1/otp/verify", path: "/otp/verify", limit: 20, window: "minute" },
  { endpoint: "POST /v1/magic-link/send", path: "/magic-link/send", limit: 5, window: "hour" }
] as const

/** Seed §3 "Request Parameters": `expiresIn` 60–900 (default 300), `length` 4, 6 or 8 (default 6). */
export const parameterBounds = {
  expiresIn: { accepted: [60, 900], refused: [59, 901] },
  length: { accepted: [4, 6, 8], refused: [5, 7] },
  defaults: { expiresIn: 300, length: 6, subject: "Your verification code" }
} as const

/** Seed "Verify an OTP", `result.error.code` for a code that cannot be right (not 4–8 digits): "invalid". */
export const verifyMalformedCode: Fixture = {
  name: "Verify an OTP with a code that is not digits → { success: false, error: { code: \"invalid\" } }",
  method: "POST", path: "/otp/verify",
  body: { email: "user@example.com", code: "84729a" },
  status: 400, shape: { success: { literal: false }, ...errorShape("invalid", 400) as Record<string, Shape> }
}

/** Seed §8 "Endpoints": the seven REST endpoints. */
export const endpoints = [
  ["POST", "/otp/send"], ["POST", "/otp/verify"], ["POST", "/magic-link/send"], ["POST", "/sessions/verify"],
  ["DELETE", "/sessions/:id"], ["GET", "/keys"], ["POST", "/keys"]
] as const
