/**
 * MagicAuth's documented examples (seed 003), as the seed writes them: the requests of its Quick Start
 * and code examples, its success body and its three error bodies. A body shape's strings in angle
 * brackets are types (`<string>`, `<integer>`, `<iso-8601>`); every other value is the literal the seed
 * shows. `app_key` placeholders are replaced by a Sesame key at replay; the token by the one the link
 * carried.
 */
export type Shape = null | boolean | number | string | { readonly [key: string]: Shape }

export const STRING = "<string>"
export const INTEGER = "<integer>"
export const ISO = "<iso-8601>"

export interface Fixture {
  readonly name: string
  readonly path: "/api/send-link" | "/api/verify-token"
  readonly request: Readonly<Record<string, string>>
  readonly status: number
  readonly body: Shape
}

/** Quick Start, step 2: "Send a Magic Link" (the response is undocumented: COMPAT.md §4.5 ambiguity 1). */
export const sendLink: Fixture = {
  name: "Quick Start 2: POST /api/send-link",
  path: "/api/send-link",
  request: { email: "user@example.com", app_key: "your_app_key_here", redirect_url: "https://yourapp.com/dashboard" },
  status: 200,
  body: { success: true, message: STRING }
}

/** Quick Start, step 3: "They're redirected to: https://yourapp.com/dashboard?magic_token=xxx". */
export const landing = { base: "https://yourapp.com/dashboard", param: "magic_token" } as const

/** The Success Response's body for a user and a redirect (the seed's: user@example.com, /dashboard). */
export const verifiedBody = (email: string, redirect_url: string): Shape => ({
  success: true,
  user: { id: INTEGER, email, name: null, email_verified_at: ISO, last_login_at: ISO },
  token: STRING,
  redirect_url
})

/** Quick Start, step 4 and "Verify Token": the Success Response (200 OK). */
export const verifyToken: Fixture = {
  name: "Verify Token: 200 OK",
  path: "/api/verify-token",
  request: { token: "xxx", app_key: "your_app_key_here" },
  status: 200,
  body: verifiedBody("user@example.com", "https://yourapp.com/dashboard")
}

/** "Error Responses": the three bodies; their status is "400 Bad Request — invalid data" (§4.5 ambiguity 2). */
export const invalidToken: Fixture = {
  name: "Error Responses: Invalid token",
  path: "/api/verify-token",
  request: { token: "abc123...", app_key: "your_app_key" },
  status: 400,
  body: { success: false, error: "Invalid token" }
}

export const tokenAlreadyUsed: Fixture = {
  name: "Error Responses: Token already used",
  path: "/api/verify-token",
  request: { token: "xxx", app_key: "your_app_key" },
  status: 400,
  body: { success: false, error: "Token already used" }
}

export const tokenExpired: Fixture = {
  name: "Error Responses: Token expired (default: 15 minutes)",
  path: "/api/verify-token",
  request: { token: "xxx", app_key: "your_app_key" },
  status: 400,
  body: { success: false, error: "Token expired" }
}

/** "Error Handling": "401 Unauthorized — Invalid app_key" (the seed's placeholder key is no key), in those words. */
export const invalidAppKey: Fixture = {
  name: "Error Handling: 401 invalid app_key",
  path: "/api/send-link",
  request: { email: "user@example.com", app_key: "your_app_key_here", redirect_url: "https://yourapp.com/dashboard" },
  status: 401,
  body: { success: false, error: "Invalid app_key" }
}

/** "Error Handling": "403 Forbidden — App disabled or redirect URL not whitelisted", the second, in its words. */
export const redirectNotWhitelisted: Fixture = {
  name: "Error Handling: 403 redirect URL not whitelisted",
  path: "/api/send-link",
  request: { email: "user@example.com", app_key: "your_app_key_here", redirect_url: "https://phishing.example.net/dashboard" },
  status: 403,
  body: { success: false, error: "Redirect URL not whitelisted" }
}

/** "Error Handling": 400 Bad Request — missing required fields. */
export const missingField: Fixture = {
  name: "Error Handling: 400 missing required fields",
  path: "/api/send-link",
  request: { app_key: "your_app_key_here", redirect_url: "https://yourapp.com/dashboard" },
  status: 400,
  body: { success: false, error: STRING }
}

/** "Error Handling": 400 Bad Request — invalid data. */
export const invalidEmail: Fixture = {
  name: "Error Handling: 400 invalid data",
  path: "/api/send-link",
  request: { email: "not-an-email", app_key: "your_app_key_here", redirect_url: "https://yourapp.com/dashboard" },
  status: 400,
  body: { success: false, error: STRING }
}

/**
 * "Code Examples" (JavaScript, PHP/Laravel, Python/Flask): the send with the callback URL, then the
 * callback reads `magic_token` from its query and posts it; `data.success`, `data.user` (Laravel's
 * `Auth::loginUsingId($data['user']['id'])` needs an integer) and `data.error` are what they read.
 */
export const codeExamples = {
  send: { email: "user@example.com", app_key: "process.env.MAGICAUTH_APP_KEY", redirect_url: "https://yourapp.com/auth/callback" },
  callback: "https://yourapp.com/auth/callback"
} as const

/**
 * "Rate Limits": the free plan's "Burst Limit 100/minute" per app. Sesame's per-key limit is a tenant
 * setting (`limits.requestsPerKeyMinute`, 6000 by default); set to 100 it is MagicAuth's burst.
 */
export const burstPerMinute = 100

/** The redirect URLs the seed's examples use: the tenant's allowlist ("Whitelist redirect URLs"). */
export const allowlist = ["https://yourapp.com/dashboard", "https://yourapp.com/auth/callback"]

/** Replaces the seed's placeholders (`app_key`, the token) with live values. */
export const replay = (fixture: Fixture, values: { readonly app_key: string; readonly token?: string }) => ({
  ...fixture.request,
  ...(fixture.request.app_key === undefined ? {} : { app_key: values.app_key }),
  ...(values.token === undefined || fixture.request.token === undefined ? {} : { token: values.token })
})

/** Where `actual` departs from `shape` (exact keys; typed leaves), as readable paths; empty when it matches. */
export const mismatches = (actual: unknown, shape: Shape, path = "$"): ReadonlyArray<string> => {
  if (shape === STRING) return typeof actual === "string" ? [] : [`${path}: expected a string, got ${JSON.stringify(actual)}`]
  if (shape === INTEGER) return Number.isSafeInteger(actual) ? [] : [`${path}: expected an integer, got ${JSON.stringify(actual)}`]
  if (shape === ISO) {
    return typeof actual === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(actual) && !Number.isNaN(Date.parse(actual))
      ? []
      : [`${path}: expected an ISO 8601 UTC timestamp, got ${JSON.stringify(actual)}`]
  }
  if (shape === null || typeof shape !== "object") {
    return actual === shape ? [] : [`${path}: expected ${JSON.stringify(shape)}, got ${JSON.stringify(actual)}`]
  }
  if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`]
  const record: Readonly<Record<string, unknown>> = { ...actual }
  const extra = Object.keys(record).filter((key) => !(key in shape)).map((key) => `${path}.${key}: not in the seed's body`)
  return [...extra, ...Object.entries(shape).flatMap(([key, sub]) =>
    key in record ? mismatches(record[key], sub, `${path}.${key}`) : [`${path}.${key}: missing`])]
}
