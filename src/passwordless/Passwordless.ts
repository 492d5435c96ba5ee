import { Clock, Context, Effect, Layer, Match } from "effect"
import {
  AlreadyUsed, ChannelDisabled, CodeExpired, CodeInvalid, type DeliveryFailed, InvalidEmail, InvalidPhone, NotFound,
  OriginMismatch, RateLimited, RedirectNotAllowed, ResendTooSoon, type RiskBlocked, type ServiceUnavailable, TooManyAttempts,
  ValidationFailed, type VoipNotAllowed
} from "../api/Errors.ts"
import type { AuthRequestStatus, ConfirmResponse, SendRequest, SendResponse, VerifyRequest, VerifyResponse } from "../api/Passwordless.ts"
import type { CurrentKey } from "../api/Security.ts"
import type { AuthRequestId, AuthType, MessageId } from "../domain/Ids.ts"
import { normalizeEmail } from "../domain/Email.ts"
import { newAuthRequestId } from "../domain/RequestUuid.ts"
import { isRedirectAllowed } from "../domain/Redirect.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { Outbox } from "../delivery/Outbox.ts"
import { DeliveryWorker } from "../delivery/Worker.ts"
import { randomCode, randomToken, sha256, sha256Base64Url } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { AppConfig } from "../platform/Config.ts"
import { Transaction } from "../platform/Transaction.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { sendChecks, verifyCheck } from "../limits/Limits.ts"
import { type Check, type Decision, RateLimiter } from "../limits/RateLimiter.ts"
import { enforce } from "../limits/Enforce.ts"
import { IssueStore } from "./IssueStore.ts"
import { type Latest, type Target, VerifyStore } from "./VerifyStore.ts"
import { Audit } from "../audit/Audit.ts"
import { Accounts } from "./Accounts.ts"
import { type Outgoing, outgoing } from "./Enumeration.ts"
import { planResend } from "./ResendStrategy.ts"
import { newAuthRequest } from "./NewRequest.ts"
import { exchangeCodeOf, ExchangeCodes } from "./ExchangeCodes.ts"
import { type AuthRequestRow, CodeStore, type Key } from "./CodeStore.ts"
import type { Credentials } from "./Compose.ts"
import * as SmsPrepare from "./SmsPrepare.ts"
import { classifyPhone } from "../domain/Phone.ts"
import { resendSmsChecks } from "./SmsVerify.ts"
import { Metrics, outcomeOf } from "../observability/Metrics.ts"

type Caller = CurrentKey["Service"]
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

export class Passwordless extends Context.Service<Passwordless, {
  readonly send: (caller: Caller, request: SendRequest) => Effect.Effect<SendResponse,
    ValidationFailed | InvalidEmail | InvalidPhone | RedirectNotAllowed | ChannelDisabled | VoipNotAllowed | RiskBlocked |
    RateLimited | DeliveryFailed | ServiceUnavailable>
  readonly resend: (caller: Caller, id: AuthRequestId) => Effect.Effect<SendResponse,
    NotFound | ResendTooSoon | CodeExpired | AlreadyUsed | TooManyAttempts | RateLimited | DeliveryFailed | ServiceUnavailable>
  readonly verify: (caller: Caller, request: VerifyRequest) => Effect.Effect<VerifyResponse,
    ValidationFailed | InvalidEmail | InvalidPhone | NotFound | CodeInvalid | CodeExpired | AlreadyUsed | TooManyAttempts |
    OriginMismatch | RateLimited | ServiceUnavailable>
  /** `verify` without a session: the same rules and writes (single use, attempts, limits, user, events, audit), no tokens. */
  readonly confirm: (caller: Caller, request: VerifyRequest) => Effect.Effect<ConfirmResponse,
    ValidationFailed | InvalidEmail | InvalidPhone | NotFound | CodeInvalid | CodeExpired | AlreadyUsed | TooManyAttempts |
    OriginMismatch | RateLimited | ServiceUnavailable>
  readonly status: (caller: Caller, id: AuthRequestId) => Effect.Effect<AuthRequestStatus, NotFound | ServiceUnavailable>
}>()("sesame/Passwordless") {}

const checkEmailSend = (request: SendRequest, policy: Policy) =>
  Effect.gen(function* () {
    if ((request.channel ?? "email") !== "email") {
      return yield* new ChannelDisabled({ message: "Only the email channel is available on this deployment." })
    }
    if (!policy.emailEnabled) return yield* new ChannelDisabled({})
    if (request.email === undefined) return yield* new ValidationFailed({ message: "email is required", field: "email" })
    const email = normalizeEmail(request.email)
    if (email === undefined) return yield* new InvalidEmail({})
    const type: AuthType = request.type ?? policy.defaultType
    if (!policy.emailTypes.includes(type)) return yield* new ChannelDisabled({ message: `Type ${type} is turned off for the tenant.` })
    const expiresIn = request.expiresIn ?? (type === "OTP" ? policy.otpTtlSeconds : policy.linkTtlSeconds)
    // NIST SP 800-63B-4 §3.1.3.2: a code sign-in completes within minutes; links may live up to an hour.
    if (type === "OTP" && expiresIn > 900) {
      return yield* new ValidationFailed({ message: "expiresIn must be 60..900 seconds for OTP", field: "expiresIn" })
    }
    if (type !== "OTP") {
      if (request.redirectUrl === undefined) {
        return yield* new ValidationFailed({ message: "redirectUrl is required for links", field: "redirectUrl" })
      }
      if (!isRedirectAllowed(request.redirectUrl, policy.redirectAllowlist)) return yield* new RedirectNotAllowed({})
    } else if (request.codeChallenge !== undefined) {
      return yield* new ValidationFailed({ message: "codeChallenge binds a link; use it with LINK or LINK_OTP", field: "codeChallenge" })
    }
    return { email, type, expiresIn }
  })

export const make = Effect.gen(function* () {
  const store = yield* CodeStore
  const tenants = yield* Tenants
  const outbox = yield* Outbox
  const worker = yield* DeliveryWorker
  const secrets = yield* Secrets
  const tx = yield* Transaction
  const limiter = yield* RateLimiter
  const exchangeCodes = yield* ExchangeCodes
  const audit = yield* Audit
  const accounts = yield* Accounts
  const sms = { prepare: yield* SmsPrepare.make }
  const issueStore = yield* IssueStore
  const verifyStore = yield* VerifyStore
  // the hosted link page lives at {publicUrl}/l/{linkToken} (#7)
  const publicUrl = (yield* AppConfig).publicUrl
  const metrics = yield* Metrics

  /** Counts the request against `checks`; refused → RATE_LIMITED naming the limit (sampled into the audit log). */
  const limit = (caller: Caller, checks: ReadonlyArray<Check>, nowMs: number) =>
    Effect.flatMap(limiter.take(caller.tenantId, checks, nowMs), (decision) => verdict(caller, decision))
  const verdict = (caller: Caller, decision: Decision) => enforce(audit, caller, `${caller.mode}:${decision.tightest.name}`, decision)

  // A key always belongs to an existing tenant (foreign key), so a missing tenant is a defect.
  // The caller's mode's settings only: a test key's settings never reach a live send (issue 10).
  const tenantOf = (caller: Caller) =>
    tenants.get(caller.tenantId).pipe(Effect.catchTag("NotFound", Effect.die), Effect.map((tenant) => tenant.modes[caller.mode]))

  const credentialsFor = (id: AuthRequestId, type: AuthType, codeLength: number) => {
    const code = type === "LINK" ? null : randomCode(codeLength)
    const linkToken = type === "OTP" ? null : randomToken(32)
    return {
      credentials: { code, linkToken } satisfies Credentials,
      codeHash: code === null ? null : secrets.codeHash(id, code),
      linkHash: linkToken === null ? null : sha256(linkToken)
    }
  }

  // A suppressed message (sign-up off, unknown address) is a row like any other, so both paths do the
  // same work (Enumeration.ts); no worker ever delivers it.
  const messageOf = (caller: Caller, row: AuthRequestRow, message: Outgoing) => ({
    tenantId: caller.tenantId, mode: caller.mode, authRequestId: row.id, channel: row.channel, recipient: row.identifier,
    email: message.payload, suppressed: message.suppressed, expiresAt: row.expiresAt
  })

  /** After the message committed: test keys deliver nothing; "sync" delivers inline; otherwise the worker is woken. */
  const deliver = (caller: Caller, message: Outgoing, messageId: MessageId, sync: boolean) =>
    Effect.gen(function* () {
      if (caller.mode === "test") return "sent" as const
      if (sync) {
        if (!message.suppressed) yield* worker.deliverNow(caller.tenantId, messageId)
        return "sent" as const
      }
      yield* worker.wake
      return "queued" as const
    })

  /** A resend: `write` and the message in one transaction, then `deliver`. */
  const dispatch = <E>(caller: Caller, row: AuthRequestRow, message: Outgoing, nowMs: number, write: Effect.Effect<void, E>) =>
    Effect.flatMap(
      tx.run(Effect.andThen(write, outbox.enqueue(messageOf(caller, row, message), new Date(nowMs)))),
      (messageId) => deliver(caller, message, messageId, false)
    )

  const response = (caller: Caller, row: AuthRequestRow, credentials: Credentials, delivery: "queued" | "sent", nowMs: number): SendResponse => ({
    authRequestId: row.id,
    channel: row.channel,
    type: row.type,
    expiresAt: Math.floor(row.expiresAt.getTime() / 1000),
    expiresIn: Math.max(0, Math.round((row.expiresAt.getTime() - nowMs) / 1000)),
    delivery,
    // Test keys get the credentials back; live responses never carry them.
    ...(caller.mode === "test" && credentials.code !== null ? { code: credentials.code } : {}),
    ...(caller.mode === "test" && credentials.linkToken !== null ? { linkToken: credentials.linkToken } : {})
  })

  /**
   * Writes a send (IssueStore: the limits, the auth request and its message in one step), then, after
   * it committed, wakes the worker or, for "sync", delivers inline. Test keys deliver nothing.
   */
  const issue = (caller: Caller, row: AuthRequestRow, message: Outgoing, checks: ReadonlyArray<Check>, nowMs: number, sync: boolean) =>
    Effect.gen(function* () {
      const { decision, messageId } = yield* issueStore.issue({ row, message: messageOf(caller, row, message), checks, now: new Date(nowMs) })
      yield* verdict(caller, decision)
      if (messageId === undefined) return yield* Effect.die(new Error("a send was admitted without its message"))
      return yield* deliver(caller, message, messageId, sync)
    })

  const send = Effect.fn("Passwordless.send")(function* (caller: Caller, request: SendRequest) {
    const tenant = yield* tenantOf(caller)
    const sync = request.deliver === "sync"
    if (request.channel === "sms") {
      // SMS (#4): validation, risk, the pumping limits and the row come from SmsPrepare; written like an email.
      const prepared = yield* sms.prepare(caller, tenant.policy, request)
      const delivery = yield* issue(caller, prepared.row, prepared.message, prepared.checks, prepared.nowMs, sync)
      return { ...response(caller, prepared.row, prepared.credentials, delivery, prepared.nowMs), ...prepared.extra }
    }
    const { email, type, expiresIn } = yield* checkEmailSend(request, tenant.policy)
    const nowMs = yield* Clock.currentTimeMillis
    // Sign-up off: the same look-up for every address, and an unknown one gets a decoy (Enumeration.ts).
    const known = tenant.policy.allowSignup || (yield* accounts.exists({ tenantId: caller.tenantId, mode: caller.mode }, email))
    const id = newAuthRequestId()
    const issued = credentialsFor(id, type, request.codeLength ?? 6)
    const credentials = issued.credentials
    const row = newAuthRequest({
      tenantId: caller.tenantId, mode: caller.mode, id, channel: "email", type, identifier: email, email, phone: null,
      request, policy: tenant.policy, credentials, codeHash: issued.codeHash, linkHash: issued.linkHash, known,
      codeLength: request.codeLength ?? 6, expiresIn, nowMs, seal: secrets.seal
    })
    // Counted in the same statement as the writes: a refused send writes nothing.
    const checks = sendChecks(tenant.policy, { mode: caller.mode, identifier: email, link: type !== "OTP", ip: request.client?.ipAddress })
    const delivery = yield* issue(caller, row, outgoing(row, credentials, tenant.policy, nowMs, publicUrl, caller.mode === "test"), checks, nowMs, sync)
    return response(caller, row, credentials, delivery, nowMs)
  })

  const resend = Effect.fn("Passwordless.resend")(function* (caller: Caller, id: AuthRequestId) {
    const tenant = yield* tenantOf(caller)
    const key: Key = { tenantId: caller.tenantId, mode: caller.mode }
    const existing = yield* store.get(key, id)
    if (existing === undefined) return yield* new NotFound({})
    const nowMs = yield* Clock.currentTimeMillis
    // rotate, keep or reuse (ResendStrategy.ts); the attempt count is never reset (SECURITY.md, better-auth#11162).
    const plan = planResend(existing, tenant.policy, credentialsFor(id, existing.type, existing.codeLength), secrets.open)
    let resent: AuthRequestRow | undefined
    const write = store.resend(key, id, {
      codeHash: plan.codeHash, linkHash: plan.linkHash, keep: plan.keep,
      cooldownMs: tenant.policy.resendCooldownSeconds * 1000, maxResends: tenant.policy.maxResends
    }, new Date(nowMs)).pipe(
      Effect.flatMap((result) =>
        Match.valueTags(result, {
          Resent: ({ request }) => Effect.sync(() => { resent = request }),
          TooSoon: ({ retryAfterMs }) => Effect.fail(new ResendTooSoon({ retryAfter: seconds(retryAfterMs) })),
          TooMany: () => Effect.fail(new ResendTooSoon({ message: "This request has been resent too many times.", retryAfter: seconds(existing.expiresAt.getTime() - nowMs) })),
          Expired: () => Effect.fail(new CodeExpired({})),
          AlreadyUsed: () => Effect.fail(new AlreadyUsed({})),
          Locked: ({ retryAfterMs }) => Effect.fail(new TooManyAttempts({ retryAfter: seconds(retryAfterMs) })),
          NotFound: () => Effect.fail(new NotFound({}))
        })),
      // a resend is a send: counted against the same limits, inside the transaction, so a refused one
      // rolls back and costs nothing
      Effect.andThen(limit(caller, [
        ...sendChecks(tenant.policy, {
          mode: caller.mode, identifier: existing.identifier, link: existing.type !== "OTP", ip: existing.clientIp ?? undefined
        }),
        ...resendSmsChecks(tenant.policy, caller, existing)
      ], nowMs)),
      Effect.asVoid
    )
    const delivery = yield* dispatch(caller, existing, outgoing(existing, plan.credentials, tenant.policy, nowMs, publicUrl, caller.mode === "test"), nowMs, write)
    return response(caller, resent ?? existing, plan.credentials, delivery, nowMs)
  })

  const attemptUnobserved = Effect.fnUntraced(function* (caller: Caller, request: VerifyRequest, issueSession: boolean) {
    const policy = (yield* tenantOf(caller)).policy
    const key: Key = { tenantId: caller.tenantId, mode: caller.mode }
    if ((request.code === undefined) === (request.linkToken === undefined)) {
      return yield* new ValidationFailed({ message: "Send exactly one of code or linkToken." })
    }
    const nowMs = yield* Clock.currentTimeMillis
    let target: Target | Latest
    if (request.code !== undefined) {
      const code = request.code
      const id = request.authRequestId
      if (id !== undefined) target = { _tag: "Target", id, proof: { _tag: "Code", hash: secrets.codeHash(id, code) } }
      else {
        let identifier: string
        let boundEmail = false
        if (request.email === undefined && request.phone === undefined) {
          return yield* new ValidationFailed({ message: "A code needs authRequestId, email or phone.", field: "authRequestId" })
        }
        if (request.phone !== undefined) {
          const phone = classifyPhone(request.phone)
          if (phone === undefined) return yield* new InvalidPhone({})
          identifier = phone.e164
        } else {
          const email = normalizeEmail(request.email ?? "")
          if (email === undefined) return yield* new InvalidEmail({})
          identifier = email
          // an SMS sent to a phone and bound to this email (Transmit's `identifier_type: "email"` over SMS)
          boundEmail = request.channel === "sms"
        }
        // the hash is keyed by the request's id: made once the store has found the identifier's newest request
        target = { _tag: "Latest", identifier, boundEmail, hash: (id) => secrets.codeHash(id, code) }
      }
    } else {
      if (policy.sameOriginLinks && request.authRequestId === undefined) return yield* new OriginMismatch({})
      target = {
        _tag: "Target",
        id: request.authRequestId ?? null,
        proof: {
          _tag: "Link",
          hash: sha256(request.linkToken ?? ""),
          // PKCE (RFC 7636 S256): the link only verifies with the verifier of the browser that asked.
          challenge: request.codeVerifier === undefined ? null : sha256Base64Url(request.codeVerifier)
        }
      }
    }
    const attempted = yield* verifyStore.verify({
      key, target,
      email: request.email === undefined ? null : normalizeEmail(request.email) ?? null,
      policy,
      client: { ip: request.client?.ipAddress ?? null, userAgent: request.client?.userAgent ?? null },
      check: (identifier: string) => verifyCheck(policy, { mode: caller.mode, identifier }),
      now: new Date(nowMs),
      issueSession
    })
    switch (attempted._tag) {
      case "SignedIn": {
        yield* verdict(caller, attempted.decision)
        const row = attempted.request
        return {
          signedIn: attempted.signedIn,
          authRequest: {
            id: row.id, channel: row.channel, type: row.type, state: row.state, template: row.template,
            metadata: row.metadata, approval: row.approval, redirectUrl: row.redirectUrl
          }
        }
      }
      case "Invalid":
        yield* verdict(caller, attempted.decision)
        return yield* new CodeInvalid({ attemptsRemaining: attempted.attemptsRemaining })
      case "Refused":
        return yield* verdict(caller, attempted.decision).pipe(Effect.andThen(Effect.die(new Error("a refused verify was allowed"))))
      case "WrongEmail":
        return yield* new ValidationFailed({ message: "This code must be verified with the email it was sent with.", field: "email" })
      case "Expired":
        return yield* new CodeExpired({})
      case "AlreadyUsed":
        return yield* new AlreadyUsed({})
      case "Locked":
        return yield* new TooManyAttempts({ retryAfter: seconds(attempted.retryAfterMs) })
      case "NotFound":
        return yield* new NotFound({})
      case "OriginMismatch":
        return yield* new OriginMismatch({})
    }
  })

  // Metrics (METRICS_PORT): every verify and confirm by outcome; nothing is wrapped when metrics are off.
  const attempt: typeof attemptUnobserved = metrics.enabled
    ? (caller, request, issueSession) => attemptUnobserved(caller, request, issueSession).pipe(
      Effect.onExit((exit) => Effect.sync(() => metrics.verify(outcomeOf(exit)))))
    : attemptUnobserved

  const verify = Effect.fn("Passwordless.verify")(function* (caller: Caller, request: VerifyRequest) {
    const { signedIn, authRequest } = yield* attempt(caller, request, true)
    if (!("idToken" in signedIn)) return yield* Effect.die(new Error("a verify signed in without a session"))
    return { ...signedIn, authRequest } satisfies VerifyResponse
  })

  const confirm = Effect.fn("Passwordless.confirm")(function* (caller: Caller, request: VerifyRequest) {
    const { signedIn, authRequest } = yield* attempt(caller, request, false)
    return { user: signedIn.user, isNewUser: signedIn.isNewUser, authRequest } satisfies ConfirmResponse
  })

  const status = Effect.fn("Passwordless.status")(function* (caller: Caller, id: AuthRequestId) {
    const row = yield* store.get({ tenantId: caller.tenantId, mode: caller.mode }, id)
    if (row === undefined) return yield* new NotFound({})
    const nowMs = yield* Clock.currentTimeMillis
    const delivery = yield* outbox.deliveryOf(caller.tenantId, id)
    // Cross-device sign-in: the link was completed on the hosted page elsewhere; the tab that started it
    // (polling this through the customer's backend) completes with the exchange code.
    const pending = row.verifiedAt === null ? undefined
      : yield* exchangeCodes.pendingFor({ tenantId: caller.tenantId, mode: caller.mode }, id, new Date(nowMs))
    return {
      id: row.id, channel: row.channel, type: row.type,
      status: row.verifiedAt !== null ? "verified" : nowMs >= row.expiresAt.getTime() ? "expired"
        : row.attempts >= row.maxAttempts ? "locked" : "pending",
      attempts: row.attempts, maxAttempts: row.maxAttempts,
      expiresAt: Math.floor(row.expiresAt.getTime() / 1000), resends: row.resends,
      delivery: delivery ?? { status: "queued", provider: null, attempts: 0, lastError: null },
      ...(row.riskScore === undefined || row.riskScore === null ? {} : { riskScore: row.riskScore }),
      ...(row.riskSignals === undefined || row.riskSignals === null ? {} : { riskSignals: row.riskSignals }),
      ...(pending === undefined ? {} : { exchangeCode: exchangeCodeOf(secrets.mac, id, pending.getTime()) })
    } satisfies AuthRequestStatus
  })

  const observedSend: typeof send = metrics.enabled
    ? (caller, request) => send(caller, request).pipe(Effect.onExit((exit) => Effect.sync(() =>
      metrics.sendRequest(request.channel ?? "email", exit._tag === "Success" ? "accepted" : outcomeOf(exit)))))
    : send

  return Passwordless.of({ send: observedSend, resend, verify, confirm, status })
})

export const layer = Layer.effect(Passwordless)(make)
