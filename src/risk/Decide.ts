import { RiskBlocked, VoipNotAllowed } from "../api/Errors.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { Phone } from "../domain/Phone.ts"
import type { RiskAssessment } from "./Score.ts"

export type Verdict =
  | { readonly _tag: "Allow" }
  | { readonly _tag: "Refuse"; readonly error: VoipNotAllowed | RiskBlocked; readonly reason: string; readonly fraud: boolean }

/**
 * The tenant's policy applied to a scored SMS send. Premium-rate and shared-cost numbers first (SMS
 * pumping: the attacker earns from each message), then `voipAction`, then the score threshold.
 * `challengePassed`: the bound email already belongs to a verified user of the tenant.
 */
export const decide = (policy: Policy, phone: Phone, risk: RiskAssessment, challengePassed: boolean): Verdict => {
  if ((phone.type === "premium_rate" || phone.type === "shared_cost") && !policy.smsAllowPremiumRate) {
    return {
      _tag: "Refuse", reason: phone.type, fraud: true,
      error: new RiskBlocked({ message: "Premium-rate and shared-cost numbers are not accepted.", riskScore: risk.score })
    }
  }
  if (phone.isVoip && policy.voipAction === "block") {
    return { _tag: "Refuse", reason: "voip_blocked", fraud: true, error: new VoipNotAllowed({ action: "block" }) }
  }
  if (phone.isVoip && policy.voipAction === "challenge" && !challengePassed) {
    return {
      _tag: "Refuse", reason: "voip_challenge", fraud: false,
      error: new VoipNotAllowed({
        action: "challenge",
        message: "This number is VOIP: verify the user's email first (channel \"email\"), then send again with that email bound."
      })
    }
  }
  if (risk.score >= policy.riskBlockAt) {
    return { _tag: "Refuse", reason: "risk_score", fraud: true, error: new RiskBlocked({ riskScore: risk.score }) }
  }
  return { _tag: "Allow" }
}
