/**
 * The documented examples of Scalekit's headless magic link & OTP guide (seed 001), as the REST API
 * receives them: the curl bodies verbatim, and the SDK examples' options in the REST API's snake_case
 * names (the SDKs speak gRPC; a team moving to Sesame sends these over REST). Placeholders the seed
 * shows (`"123456"`, `"a4143d8f-…_l"`, `"YC4QR-…"`) are replaced by the real code, token and id.
 */

export const SEND = "/compat/scalekit/api/v1/passwordless/email/send"
export const RESEND = "/compat/scalekit/api/v1/passwordless/email/resend"
export const VERIFY = "/compat/scalekit/api/v1/passwordless/email/verify"
export const TOKEN = "/compat/scalekit/oauth/token"

export const MAGICLINK_AUTH_URI = "https://yourapp.com/passwordless/verify"
export const SEED_EMAIL = "john.doe@example.com"
export const SEED_STATE = "jAy-state1-gM4fdZ...2nqm6Q"

/** POST /api/v1/passwordless/email/send: the curl example, then the Node, Python, Go and Java options. */
export const sendExamples: ReadonlyArray<{ readonly name: string; readonly body: Readonly<Record<string, unknown>> }> = [
  {
    name: "curl",
    body: {
      email: SEED_EMAIL,
      expires_in: 300,
      state: SEED_STATE,
      template: "SIGNIN",
      magiclink_auth_uri: MAGICLINK_AUTH_URI,
      template_variables: { custom_variable_key: "custom_variable_value" }
    }
  },
  {
    name: "node",
    body: {
      email: SEED_EMAIL,
      template: "SIGNIN",
      state: "jAy-state1-...2nqm6Q",
      expires_in: 300,
      magiclink_auth_uri: MAGICLINK_AUTH_URI,
      template_variables: { employeeID: "EMP523", teamName: "Alpha Team" }
    }
  },
  {
    name: "python",
    body: {
      email: SEED_EMAIL,
      template: "SIGNIN",
      expires_in: 300,
      magiclink_auth_uri: MAGICLINK_AUTH_URI,
      template_variables: { employeeID: "EMP523", teamName: "Alpha Team" }
    }
  },
  {
    name: "go",
    body: {
      email: SEED_EMAIL,
      template: "SIGNIN",
      state: SEED_STATE,
      expires_in: 300,
      magiclink_auth_uri: MAGICLINK_AUTH_URI,
      template_variables: { employeeID: "EMP523", teamName: "Alpha Team" }
    }
  },
  {
    name: "java",
    body: {
      email: SEED_EMAIL,
      template: "SIGNIN",
      expires_in: 300,
      magiclink_auth_uri: MAGICLINK_AUTH_URI,
      template_variables: { employeeID: "EMP523", teamName: "Alpha Team" }
    }
  }
]

/** POST …/resend: `{ auth_request_id }`. */
export const resendExample = (authRequestId: string) => ({ auth_request_id: authRequestId })

/** POST …/verify by code: `{ code, auth_request_id }`. */
export const verifyCodeExample = (code: string, authRequestId: string) => ({ code, auth_request_id: authRequestId })

/** POST …/verify by link: `{ link_token, auth_request_id }` (curl, Node), or `{ link_token }` alone (Go, Python, Java). */
export const verifyLinkExample = (linkToken: string, authRequestId?: string) =>
  authRequestId === undefined ? { link_token: linkToken } : { link_token: linkToken, auth_request_id: authRequestId }

/** What a field of a documented answer is: its JSON type, or one of the documented values. */
export type FieldSpec = "string" | "number" | "digits" | ReadonlyArray<string>

const passwordlessType = ["OTP", "LINK", "LINK_OTP"] as const

/** Send and resend answer: `expires_at` is "Unix timestamp … string", `expires_in` a number. */
export const sendAnswer: Readonly<Record<string, FieldSpec>> = {
  auth_request_id: "string",
  expires_at: "digits",
  expires_in: "number",
  passwordless_type: passwordlessType
}

/** Verify answer: email, state (as sent), template (SIGNIN/SIGNUP), passwordless_type. */
export const verifyAnswer: Readonly<Record<string, FieldSpec>> = {
  email: "string",
  state: "string",
  template: ["SIGNIN", "SIGNUP"],
  passwordless_type: passwordlessType
}
