import { Schema } from "effect"

/**
 * A sender's display name, and nothing that reads like an address: `"support@bank.example" <…>`
 * shows the recipient a trusted-looking address that is not the real sender (display-name spoofing),
 * and `<`/`>` or control characters would let the name spill into the From header's address part.
 */
export const displayNameProblem = (value: string): string | undefined =>
  /[\u0000-\u001f\u007f@<>]/u.test(value)
    ? "must be a display name only: no @, < or > (no address) and no control characters"
    : undefined

/** An absolute https URL without credentials, as the email and the hosted page use it for a logo. */
export const httpsUrlProblem = (value: string): string | undefined => {
  const url = /[\u0000-\u0020\u007f]/u.test(value) ? null : URL.parse(value)
  if (url === null || url.protocol !== "https:" || url.hostname === "") return "must be an absolute https:// URL"
  if (url.username !== "" || url.password !== "") return "must not carry a user name or password"
  return undefined
}

/** Schema checks for the request schemas, so the answer is VALIDATION_FAILED naming the field. */
export const isDisplayName = Schema.makeFilter<string>((s) => displayNameProblem(s), {
  description: "a display name: no @, < or >, no control characters"
})
export const isHttpsUrl = Schema.makeFilter<string>((s) => httpsUrlProblem(s), {
  description: "an absolute https URL without credentials"
})
