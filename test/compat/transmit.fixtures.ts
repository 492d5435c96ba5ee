/**
 * The documented examples of seed 004 (Transmit Security one-time login), request and response, as
 * the seed prints them. The seed's examples are schema dumps: `"string"` and `0` stand for "a value of
 * this type". A replay keeps every field the seed sends and puts a real value where the placeholder
 * cannot work as is (an address, a phone, a code, a message holding `{otp}` and `{app}`); `redirect_uri`,
 * absent from the seed's link example, is added (required, COMPAT.md §5.6.2). The responses are
 * compared by shape: the same keys, each of the seed's JSON type.
 */

export const seedLinkSend = {
  request: {
    email: "name@example.com",
    email_content: {
      subject: "string",
      primaryColor: "#6981FF",
      base64logo: "string",
      headerText: "string",
      bodyText: "string",
      linkText: "string",
      infoText: "string",
      footerText: "If you didn't request this email, you can safely ignore it.",
      senderName: "string"
    },
    state: "string",
    email_expiration: 0,
    channel: "email",
    client_attributes: { user_agent: "string", ip_address: "string" }
  },
  response: { message: "Email sent successfully" }
} as const

export const seedLinkAuthenticate = {
  request: {
    resource: "string",
    claims: { id_token: { roles: null } },
    org_id: "string",
    client_attributes: { user_agent: "string", ip_address: "string" },
    session_id: "string",
    code: "string"
  },
  response: {
    access_token: "string",
    id_token: "string",
    refresh_token: "string",
    token_type: "string",
    expires_in: 3600,
    session_id: "string"
  }
} as const

export const seedOtpSend = {
  request: {
    channel: "sms",
    identifier_type: "email",
    identifier: "string",
    email_content: {
      subject: "string",
      primaryColor: "#6981FF",
      base64logo: "string",
      headerText: "string",
      bodyText: "string",
      linkText: "string",
      infoText: "string",
      footerText: "If you didn't request this email, you can safely ignore it.",
      senderName: "string"
    },
    custom_sms_input: { custom_message: "string", sender_id: "string" },
    approval_data: { transaction_id: "eFII2y40uB9hQ98nXt3tc1IHkRt8GrRZiqZuRn_59wT", sum: "200" },
    custom_email: "string",
    custom_phone_number: "string",
    client_attributes: { user_agent: "string", ip_address: "string" }
  },
  response: {
    message: "OTP sent",
    approval_data: { transaction_id: "eFII2y40uB9hQ98nXt3tc1IHkRt8GrRZiqZuRn_59wT", sum: "200" },
    code: "123456"
  }
} as const

export const seedOtpAuthenticate = {
  request: {
    resource: "string",
    claims: { id_token: { roles: null } },
    org_id: "string",
    client_attributes: { user_agent: "string", ip_address: "string" },
    session_id: "string",
    passcode: "string",
    identifier_type: "email",
    identifier: "string"
  },
  response: seedLinkAuthenticate.response
} as const

/** The replayable link send: the seed's body, a real lifetime for its `0`, and the redirect it lacks. */
export const linkSendReplay = (email: string, redirectUri: string) => ({
  ...seedLinkSend.request,
  email,
  email_expiration: 15,
  redirect_uri: redirectUri
})

export const linkAuthenticateReplay = (code: string) => ({ ...seedLinkAuthenticate.request, code })

export const otpSendReplay = (email: string, phone: string) => ({
  ...seedOtpSend.request,
  identifier: email,
  custom_phone_number: phone,
  custom_sms_input: { ...seedOtpSend.request.custom_sms_input, custom_message: "{app}: your code is {otp}" }
})

export const otpAuthenticateReplay = (email: string, passcode: string) => ({ ...seedOtpAuthenticate.request, identifier: email, passcode })

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const kindOf = (value: unknown) => value === null ? "null" : Array.isArray(value) ? "array" : typeof value

/**
 * Where `actual` differs in shape from the seed's example: a missing or extra key, or a value of
 * another JSON type (nested objects compared the same way). Empty when the shapes agree.
 */
export const shapeDiff = (seed: Json, actual: unknown, path = "$"): ReadonlyArray<string> => {
  if (kindOf(seed) !== kindOf(actual)) return [`${path}: ${kindOf(actual)} where the seed has ${kindOf(seed)}`]
  if (typeof seed !== "object" || seed === null || Array.isArray(seed) || typeof actual !== "object" || actual === null) return []
  const seedEntries = Object.entries(seed)
  const actualEntries: Record<string, unknown> = { ...actual }
  const extra = Object.keys(actualEntries)
    .filter((key) => !seedEntries.some(([seedKey]) => seedKey === key))
    .map((key) => `${path}.${key}: not in the seed`)
  const nested = seedEntries.flatMap(([key, value]) =>
    key in actualEntries ? shapeDiff(value, actualEntries[key], `${path}.${key}`) : [`${path}.${key}: missing`])
  return [...extra, ...nested]
}
