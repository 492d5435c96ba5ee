import { Effect } from "effect"
import { ExchangeRequest } from "../../api/Exchange.ts"
import { SendRequest, VerifyRequest } from "../../api/Passwordless.ts"
import type { CurrentKey } from "../../api/Security.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import { ClientCredentials } from "../../keys/ClientCredentials.ts"
import { CodeStore } from "../../passwordless/CodeStore.ts"
import { Exchange } from "../../passwordless/Exchange.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { SessionTokens } from "../../sessions/SessionTokens.ts"
import { Tenants } from "../../tenants/Tenants.ts"
import { clientCredentialsGrant, translate } from "../Kit.ts"
import { TransmitBadRequest, TransmitForbidden, TransmitUnauthorized } from "./Errors.ts"
import { invalidCredentials, invalidInput, TransmitProduct } from "./Product.ts"
import type { LinkAuthenticateRequest, LinkSendRequest, OidcTokenRequest, OtpAuthenticateRequest, OtpSendRequest } from "./Schemas.ts"
import {
  approvalOf, clientOf, compact, emailContentOf, invalidLinkCode, nativeInput, otpAddressOf, refuseLiveDirect,
  smsMessageOf, tokensOf
} from "./Translate.ts"

type Caller = CurrentKey["Service"]

const toSend = nativeInput(SendRequest)
const toVerify = nativeInput(VerifyRequest)
const toExchange = nativeInput(ExchangeRequest)
const inTransmitWords = translate(TransmitProduct)
const minutes = (value: number | undefined) => value === undefined ? undefined : value * 60

/**
 * Transmit's one-time login (seed 004) as calls to the native services: each flow translates the
 * request, makes the native call, and words the answer and the failures as Transmit does. No rule is
 * decided here — limits, attempts, single use, enumeration safety, risk and audit are the native ones.
 *
 * The token requests' `resource`, `claims`, `org_id` and `session_id` are accepted and not used (the
 * seed's own examples send all four): `aud` stays the tenant's id, requested claims may be left out
 * (OIDC Core §5.5), no organization membership is checked and every sign-in opens a new session —
 * docs/compat.md says what an integration must check instead.
 */
export const make = Effect.gen(function* () {
  const passwordless = yield* Passwordless
  const exchange = yield* Exchange
  const codes = yield* CodeStore
  const sessionTokens = yield* SessionTokens
  const clients = yield* ClientCredentials
  const tenants = yield* Tenants

  /**
   * The hosted page consumes the link and opens the session before the exchange, and a same-origin
   * tenant's exchange needs the request id, which Transmit's send does not return: the sign-in would be
   * stranded (a live session nobody can collect). So such a send is refused before anything is sent.
   */
  const refuseSameOrigin = (caller: Caller) =>
    Effect.gen(function* () {
      const tenant = yield* tenants.get(caller.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))
      if (tenant.modes[caller.mode].policy.sameOriginLinks) {
        return yield* new TransmitForbidden({
          message: "Magic links are unavailable: the tenant enforces same-origin links (sameOriginLinks), which need the auth request id Transmit's send does not return"
        })
      }
    })

  /** T1: a hosted link (`/l/{token}`), whose page redirects to `redirect_uri?code=…&state=…` as Transmit's does. */
  const linkSend = (caller: Caller, request: LinkSendRequest) =>
    inTransmitWords(Effect.gen(function* () {
      yield* refuseLiveDirect(caller.mode, request.channel)
      yield* refuseSameOrigin(caller)
      if (request.email === undefined && request.identifier_type !== undefined && request.identifier_type !== "email") {
        return yield* invalidInput(`identifier_type ${request.identifier_type} is not supported: use email`)
      }
      const email = request.email ?? request.identifier
      if (email === undefined) return yield* invalidInput("email is required")
      const native = yield* toSend(compact({
        channel: "email", type: "LINK", email, redirectUrl: request.redirect_uri, linkMode: "hosted",
        expiresIn: minutes(request.email_expiration), emailContent: emailContentOf(request.email_content),
        state: request.state, client: clientOf(request.client_attributes)
      }))
      yield* passwordless.send(caller, native)
      return { message: "Email sent successfully" }
    }))

  /** T2: the code the hosted page put on the redirect, traded once for the sign-in (native exchange). */
  const linkAuthenticate = (caller: Caller, request: LinkAuthenticateRequest) =>
    inTransmitWords(Effect.gen(function* () {
      const native = yield* Effect.mapError(toExchange({ code: request.code }), () => invalidLinkCode())
      const verified = yield* exchange.exchange(caller, native).pipe(Effect.catchTags({
        NotFound: () => Effect.fail(invalidLinkCode()),
        AlreadyUsed: () => Effect.fail(invalidLinkCode()),
        CodeExpired: () => Effect.fail(invalidLinkCode("Magic link code expired"))
      }))
      return tokensOf(verified)
    }))

  /** T3: an OTP by email or SMS; `approval_data` is echoed and signed into the ID token. */
  const otpSend = (caller: Caller, request: OtpSendRequest) =>
    inTransmitWords(Effect.gen(function* () {
      const address = yield* otpAddressOf(request, caller.mode)
      const smsMessage = address.channel === "sms" ? yield* smsMessageOf(request.custom_sms_input?.custom_message) : undefined
      const native = yield* toSend(compact({
        ...address, type: "OTP", expiresIn: minutes(request.expires_in), smsMessage,
        emailContent: address.channel === "email" ? emailContentOf(request.email_content) : undefined,
        approval: approvalOf(request.approval_data), client: clientOf(request.client_attributes)
      }))
      const sent = yield* passwordless.send(caller, native)
      return {
        message: "OTP sent",
        ...(request.approval_data === undefined ? {} : { approval_data: request.approval_data }),
        ...(sent.code === undefined ? {} : { code: sent.code })
      }
    }))

  /**
   * Which pending OTP an email identifier means: the newest of its email request and the SMS request
   * bound to it (Transmit's authenticate does not say which channel it sent on).
   */
  const emailTarget = (caller: Caller, identifier: string) =>
    Effect.gen(function* () {
      const email = normalizeEmail(identifier)
      if (email === undefined) return { email: identifier }
      const key = { tenantId: caller.tenantId, mode: caller.mode }
      const byEmail = yield* codes.latestFor(key, email)
      const bySms = yield* codes.latestFor(key, email, true)
      return bySms !== undefined && (byEmail === undefined || bySms.createdAt > byEmail.createdAt)
        ? { email, channel: "sms" }
        : { email }
    })

  /** T4: identifier + passcode = native verify by identifier; a wrong, unknown or spent one reads the same. */
  const otpAuthenticate = (caller: Caller, request: OtpAuthenticateRequest) =>
    inTransmitWords(Effect.gen(function* () {
      const target = request.identifier_type === "email"
        ? yield* emailTarget(caller, request.identifier)
        : request.identifier_type === "phone_number"
        ? { phone: request.identifier }
        : yield* invalidInput(`identifier_type ${request.identifier_type} is not supported: use email or phone_number`)
      const native = yield* toVerify(compact({ ...target, code: request.passcode, client: clientOf(request.client_attributes) })).pipe(
        // a passcode that could never be right is just a wrong one
        Effect.catchTag("ValidationFailed", (e) => Effect.fail(e.field === "code" ? invalidCredentials() : e))
      )
      const verified = yield* passwordless.verify(caller, native).pipe(Effect.catchTags({
        NotFound: () => Effect.fail(invalidCredentials()),
        // a phone whose pending SMS is bound to an email: to Transmit, a passcode that does not verify
        ValidationFailed: (e) => Effect.fail(e.field === "email" ? invalidCredentials() : e)
      }))
      return tokensOf(verified)
    }))

  /** [outside seed] `/oidc/token`: client credentials (the Sesame key), or a refresh token's rotation. */
  const oidcToken = (form: OidcTokenRequest) =>
    inTransmitWords(form.grant_type === "refresh_token"
      ? Effect.gen(function* () {
        if (form.refresh_token === undefined) return yield* invalidInput("refresh_token is required")
        const refreshed = yield* sessionTokens.refresh(form.refresh_token).pipe(Effect.catchTags({
          TokenInvalid: () => Effect.fail(invalidGrant()),
          TokenExpired: () => Effect.fail(invalidGrant()),
          RefreshTokenReused: () => Effect.fail(invalidGrant())
        }))
        return {
          access_token: refreshed.session.accessToken, id_token: refreshed.idToken, refresh_token: refreshed.session.refreshToken,
          token_type: "Bearer" as const, expires_in: refreshed.session.expiresIn, session_id: refreshed.session.id
        }
      })
      : clientCredentialsGrant(form).pipe(
        Effect.provideService(ClientCredentials, clients),
        Effect.catchTags({
          ValidationFailed: () =>
            Effect.fail(new TransmitBadRequest({ message: "grant_type must be client_credentials or refresh_token", error_code: "unsupported_grant_type" })),
          ApiKeyMissing: () => Effect.fail(invalidClient()),
          KeyRefused: () => Effect.fail(invalidClient())
        })
      ))

  return { linkSend, linkAuthenticate, otpSend, otpAuthenticate, oidcToken }
})

/** RFC 6749 §5.2 `invalid_grant`: an unknown, expired or reused refresh token (a reuse also revokes the session natively). */
const invalidGrant = () => new TransmitBadRequest({ message: "Invalid refresh token", error_code: "invalid_grant" })
const invalidClient = () => new TransmitUnauthorized({ message: "Invalid client credentials" })
