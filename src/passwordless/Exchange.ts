import { Clock, Context, Data, Effect, Layer, Schema } from "effect"
import { AlreadyUsed, CodeExpired, NotFound, OriginMismatch, type ServiceUnavailable, type ValidationFailed } from "../api/Errors.ts"
import type { ExchangeRequest } from "../api/Exchange.ts"
import { VerifyResponse } from "../api/Passwordless.ts"
import type { CurrentKey } from "../api/Security.ts"
import { Audit } from "../audit/Audit.ts"
import { appendQuery } from "../domain/Redirect.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { constantTimeEqual, sha256, sha256Base64Url } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { Transaction } from "../platform/Transaction.ts"
import { Sessions } from "../sessions/Sessions.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { type AuthRequestRow, CodeStore } from "./CodeStore.ts"
import { exchangeCodeOf, ExchangeCodes, type RedeemResult } from "./ExchangeCodes.ts"

/** API.md: the exchange code lives 60 s. */
export const EXCHANGE_TTL_MS = 60_000
/** A rendered page's token is good for as long as any link can live (1 h). */
const RENDER_TTL_MS = 3_600_000
const LINK_TOKEN = /^[A-Za-z0-9_-]{20,128}$/

/** What the page shows about the request: never the link token, the full address or anything secret. */
export interface PageContext {
  readonly appName: string
  readonly email: string | null
  readonly locale: string | null
  readonly primaryColor: string | null
  readonly logoUrl: string | null
  /** Where "back to the app" goes on the expired and used pages: the redirect URL's origin. */
  readonly backUrl: string | null
  /** The redirect URL's origin: the page's CSP must let the form's redirect go there. */
  readonly redirectOrigin: string | null
}

export type LinkPage = Data.TaggedEnum<{
  Ready: { readonly page: PageContext; readonly csrf: string; readonly renderedAt: number }
  Redirect: { readonly location: string }
  Used: { readonly page: PageContext }
  Expired: { readonly page: PageContext }
  Forbidden: { readonly page: PageContext | null }
  Unknown: {}
}>
export const LinkPage = Data.taggedEnum<LinkPage>()

export interface ConfirmForm {
  readonly csrf: string
  readonly renderedAt: string
}

type Caller = CurrentKey["Service"]

export class Exchange extends Context.Service<Exchange, {
  /** GET /l/{linkToken}: what to show. Never consumes the link (mail scanners open links). */
  readonly view: (linkToken: string) => Effect.Effect<LinkPage, ServiceUnavailable>
  /** POST /l/{linkToken}: consumes the link and issues an exchange code, in one transaction. */
  readonly confirm: (linkToken: string, form: ConfirmForm) => Effect.Effect<LinkPage, ServiceUnavailable>
  /** POST /v1/passwordless/exchange: the verify response, once, within 60 s. */
  readonly exchange: (caller: Caller, request: ExchangeRequest) => Effect.Effect<VerifyResponse,
    ValidationFailed | NotFound | CodeExpired | AlreadyUsed | OriginMismatch | ServiceUnavailable>
}>()("sesame/Exchange") {}

const originOf = (url: string | null): string | null => (url === null ? null : URL.parse(url)?.origin ?? null)

const pageOf = (row: AuthRequestRow, policy: Policy): PageContext => {
  const origin = originOf(row.redirectUrl)
  return {
    appName: policy.appName,
    email: row.email,
    locale: row.locale,
    primaryColor: row.renderOptions?.emailContent?.primaryColor ?? policy.primaryColor,
    logoUrl: policy.logoUrl,
    backUrl: origin === null || origin === "null" ? null : `${origin}/`,
    redirectOrigin: origin === "null" ? null : origin
  }
}

const decodeResponse = Schema.decodeUnknownEffect(Schema.fromJsonString(VerifyResponse))

export const make = Effect.gen(function* () {
  const store = yield* CodeStore
  const codes = yield* ExchangeCodes
  const tenants = yield* Tenants
  const secrets = yield* Secrets
  const tx = yield* Transaction
  const sessions = yield* Sessions
  const audit = yield* Audit

  const lookup = (linkToken: string) =>
    Effect.gen(function* () {
      if (!LINK_TOKEN.test(linkToken)) return undefined
      const hash = sha256(linkToken)
      const row = yield* codes.requestForLink(hash)
      if (row === undefined || row.redirectUrl === null) return undefined
      // The row's tenant exists (foreign key): a missing one is a defect.
      const { policy } = (yield* tenants.get(row.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))).modes[row.mode]
      return { row, hash, policy, page: pageOf(row, policy) }
    })

  // CSRF token of one rendering: HMAC over the link hash and the render time, so it is bound to this
  // link, cannot be forged without the server secret, and goes stale (OWASP CSRF cheat sheet, HMAC token).
  const renderToken = (hash: Uint8Array, renderedAt: number) =>
    secrets.mac("link-page-csrf", `${Buffer.from(hash).toString("hex")}.${renderedAt}`)

  const view = Effect.fn("Exchange.view")(function* (linkToken: string) {
    const found = yield* lookup(linkToken)
    if (found === undefined) return LinkPage.Unknown()
    const nowMs = yield* Clock.currentTimeMillis
    const { row, page } = found
    if (row.verifiedAt !== null) return LinkPage.Used({ page })
    if (nowMs >= row.expiresAt.getTime() || row.attempts >= row.maxAttempts) return LinkPage.Expired({ page })
    return LinkPage.Ready({ page, renderedAt: nowMs, csrf: renderToken(found.hash, nowMs).toString("base64url") })
  })

  const confirm = Effect.fn("Exchange.confirm")(function* (linkToken: string, form: ConfirmForm) {
    const found = yield* lookup(linkToken)
    if (found === undefined) return LinkPage.Unknown()
    const { row, hash, policy, page } = found
    const nowMs = yield* Clock.currentTimeMillis
    const renderedAt = /^\d{1,15}$/.test(form.renderedAt) ? Number(form.renderedAt) : -1
    const fresh = renderedAt >= 0 && renderedAt <= nowMs && nowMs - renderedAt <= RENDER_TTL_MS
    if (!fresh || !constantTimeEqual(Buffer.from(form.csrf, "base64url"), renderToken(hash, renderedAt))) {
      return LinkPage.Forbidden({ page })
    }
    const now = new Date(nowMs)
    const key = { tenantId: row.tenantId, mode: row.mode }
    return yield* tx.run(Effect.gen(function* () {
      // The same atomic consume as verify. A PKCE link is consumed here with its own stored challenge;
      // its verifier is then demanded by the exchange, so the link still completes only for the
      // browser that asked (RFC 7636).
      const result = yield* store.consume(key, { id: row.id, proof: { _tag: "Link", hash, challenge: row.codeChallenge } }, now)
      if (result._tag === "AlreadyUsed") return LinkPage.Used({ page })
      if (result._tag !== "Verified") return LinkPage.Expired({ page })
      const used = result.request
      const signedIn = yield* sessions.signIn({
        tenantId: used.tenantId, mode: used.mode, channel: used.channel, email: used.email, phone: used.phone,
        amr: ["link"], clientIp: used.clientIp, userAgent: used.userAgent, policy, approval: used.approval
      })
      yield* store.resetFailures(key, used.identifier, now)
      yield* audit.record({
        tenantId: used.tenantId, mode: used.mode, type: "login.success", subject: signedIn.user.id,
        details: { authRequestId: used.id, userId: signedIn.user.id, sessionId: signedIn.session.id, amr: ["link"], hostedPage: true }
      })
      const response: VerifyResponse = {
        ...signedIn,
        authRequest: {
          id: used.id, channel: used.channel, type: used.type, state: used.state, template: used.template,
          metadata: used.metadata, approval: used.approval, redirectUrl: used.redirectUrl
        }
      }
      const code = exchangeCodeOf(secrets.mac, used.id, nowMs)
      const codeHash = sha256(code)
      yield* codes.insert({
        codeHash, tenantId: used.tenantId, mode: used.mode, authRequestId: used.id, codeChallenge: used.codeChallenge,
        sealedResponse: secrets.seal(JSON.stringify(response), codeHash.toString("hex")),
        createdAt: now, expiresAt: new Date(nowMs + EXCHANGE_TTL_MS)
      })
      const location = appendQuery(row.redirectUrl ?? "", used.state === null ? { code } : { code, state: used.state })
      return LinkPage.Redirect({ location })
    }))
  })

  const exchange = Effect.fn("Exchange.exchange")(function* (caller: Caller, request: ExchangeRequest) {
    const policy = (yield* tenants.get(caller.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))).modes[caller.mode].policy
    // Same-device binding (Scalekit's same-origin enforcement): only the app that kept the id completes.
    if (policy.sameOriginLinks && request.authRequestId === undefined) return yield* new OriginMismatch({})
    const nowMs = yield* Clock.currentTimeMillis
    const codeHash = sha256(request.code)
    const challenge = request.codeVerifier === undefined ? null : sha256Base64Url(request.codeVerifier)
    // The id is part of the single-use UPDATE: an exchange naming another request leaves the code
    // unused, so a mismatch (an attacker's replayed callback) cannot burn the user's sign-in.
    const result: RedeemResult = yield* codes.redeem(
      { tenantId: caller.tenantId, mode: caller.mode }, codeHash, request.authRequestId ?? null, challenge, new Date(nowMs)
    )
    switch (result._tag) {
      case "NotFound":
        return yield* new NotFound({ message: "Unknown exchange code." })
      case "Expired":
        return yield* new CodeExpired({ message: "The exchange code has expired. Sign in again." })
      case "AlreadyUsed":
        return yield* new AlreadyUsed({})
      case "OtherRequest":
        return yield* new OriginMismatch({})
      case "Redeemed": {
        // We sealed it ourselves: failing to open or decode it is a defect.
        const json = yield* Effect.try({
          try: () => secrets.open(result.sealedResponse, codeHash.toString("hex")),
          catch: (cause) => cause
        }).pipe(Effect.orDie)
        return yield* decodeResponse(json).pipe(Effect.orDie)
      }
    }
  })

  return Exchange.of({ view, confirm, exchange })
})

export const layer = Layer.effect(Exchange)(make)
