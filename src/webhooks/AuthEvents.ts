import type { CurrentKey } from "../api/Security.ts"
import type { NewEvent } from "./Events.ts"

/**
 * `login.failed` for a wrong code or link (Auth1's "verification fails"). Bounded by the attempt
 * caps (5 per request, 20 per identifier), so it cannot be used to flood an endpoint;
 * `attemptsRemaining: 0` means the request is now locked.
 */
export const loginFailed = (
  caller: Pick<CurrentKey["Service"], "tenantId" | "mode">,
  result: { readonly identifier: string; readonly attemptsRemaining: number },
  target: { readonly id: string | null; readonly proof: { readonly _tag: "Code" | "Link" } },
  ip: string | null,
  /** The request, when known: its bound email (SMS), risk score and VOIP flag go into the event too. */
  request?: { readonly email: string | null; readonly riskScore: number | null; readonly isVoip: boolean | null }
): NewEvent => {
  const phone = result.identifier.startsWith("+")
  return {
    tenantId: caller.tenantId,
    mode: caller.mode,
    type: "login.failed",
    payload: {
      userId: null,
      email: phone ? request?.email ?? null : result.identifier,
      phone: phone ? result.identifier : null,
      riskScore: request?.riskScore ?? null,
      isVoip: request?.isVoip ?? null,
      method: target.proof._tag === "Link" ? "magic_link" : phone ? "sms_otp" : "email_otp",
      ip,
      reason: "CODE_INVALID",
      authRequestId: target.id,
      attemptsRemaining: result.attemptsRemaining
    }
  }
}
