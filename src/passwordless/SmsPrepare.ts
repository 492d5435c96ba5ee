import { Clock, Effect } from "effect"
import type { CurrentKey } from "../api/Security.ts"
import type { SendRequest } from "../api/Passwordless.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { newAuthRequestId } from "../domain/RequestUuid.ts"
import { sendChecks, smsChecks } from "../limits/Limits.ts"
import { Accounts } from "./Accounts.ts"
import type { Credentials } from "./Compose.ts"
import { outgoing } from "./Enumeration.ts"
import { newAuthRequest } from "./NewRequest.ts"
import { randomCode } from "../platform/Crypto.ts"
import { Secrets } from "../platform/Secrets.ts"
import { decide } from "../risk/Decide.ts"
import { RiskScorer } from "../risk/RiskScorer.ts"
import { Events } from "../webhooks/Events.ts"
import { checkSmsSend } from "./SmsSend.ts"

type Caller = CurrentKey["Service"]

/**
 * An SMS send up to the point where it is queued: validated, scored, judged by the tenant's policy
 * (premium rate, voipAction, riskBlockAt; refusals raise `fraud.detected`), counted against the
 * pumping limits, and turned into an auth request row, its message and the limits it counts against.
 * The caller writes it with IssueStore: nothing is written unless every limit admits it.
 */
export const make = Effect.gen(function* () {
  const risk = yield* RiskScorer
  const accounts = yield* Accounts
  const events = yield* Events
  const secrets = yield* Secrets

  return Effect.fn("Passwordless.sendSms")(function* (caller: Caller, policy: Policy, request: SendRequest) {
    const { phone, email, expiresIn, codeLength } = yield* checkSmsSend(request, policy)
    const nowMs = yield* Clock.currentTimeMillis
    const key = { tenantId: caller.tenantId, mode: caller.mode }
    const ip = request.client?.ipAddress ?? null
    const assessment = yield* risk.score({
      ...key, phone, ip, emailDomain: email === null ? null : email.slice(email.lastIndexOf("@") + 1),
      allowedCountries: policy.smsAllowedCountries, nowMs
    })
    // voipAction "challenge": passed once the bound email belongs to a user of the tenant (verified by email).
    const challengePassed = phone.isVoip && policy.voipAction === "challenge" && email !== null
      ? yield* accounts.exists(key, email)
      : false
    const verdict = decide(policy, phone, assessment, challengePassed)
    if (verdict._tag === "Refuse") {
      if (verdict.fraud) {
        yield* events.record({
          ...key, type: "fraud.detected",
          payload: {
            phone: phone.e164, email, ip, method: "sms_otp", reason: verdict.reason, riskScore: assessment.score,
            riskSignals: assessment.signals.join(","), phoneType: phone.type, isVoip: phone.isVoip, country: phone.country
          }
        }, new Date(nowMs))
      }
      return yield* verdict.error
    }
    const checks = [
      ...sendChecks(policy, { mode: caller.mode, identifier: phone.e164, link: false, ip: ip ?? undefined }),
      ...smsChecks(policy, { mode: caller.mode, phone: phone.e164, country: phone.country, prefix: phone.prefix })
    ]
    // Sign-up off: an unknown number gets a decoy request and no SMS, after the same work (Enumeration.ts).
    const known = policy.allowSignup || (yield* accounts.exists(key, phone.e164))
    const id = newAuthRequestId()
    const code = randomCode(codeLength)
    const codeHash = secrets.codeHash(id, code)
    const credentials: Credentials = { code, linkToken: null }
    const row = newAuthRequest({
      tenantId: caller.tenantId, mode: caller.mode, id, channel: "sms", type: "OTP", identifier: phone.e164, email,
      phone: phone.e164, request, policy, credentials,
      codeHash, linkHash: null, known, codeLength, expiresIn, nowMs, seal: secrets.seal,
      risk: { score: assessment.score, signals: assessment.signals }
    })
    const message = outgoing(row, credentials, policy, nowMs, "", caller.mode === "test")
    return {
      row, message, credentials, nowMs, checks,
      extra: { phoneType: phone.type, isVoip: phone.isVoip, riskScore: assessment.score, riskSignals: assessment.signals }
    }
  })
})
