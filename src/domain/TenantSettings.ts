import { Schema } from "effect"
import { AuthType, Template } from "./Ids.ts"

const Int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/** One stored template: what a tenant says for one template (SIGNIN/SIGNUP) in one locale. */
export const TenantTemplate = Schema.Struct({
  template: Template,
  locale: Schema.String.check(Schema.isPattern(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)),
  subject: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  html: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100_000))),
  text: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(20_000))),
  sms: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000)))
})
export type TenantTemplate = typeof TenantTemplate.Type

/**
 * A tenant's policies. Stored as jsonb on the tenant; every field has a safe default, so an empty
 * document is a valid tenant. Unknown keys are rejected when settings are written (SECURITY.md "Input").
 */
export const TenantSettings = Schema.Struct({
  appName: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100))),
  channels: Schema.optionalKey(Schema.Struct({
    email: Schema.optionalKey(Schema.Boolean),
    sms: Schema.optionalKey(Schema.Boolean)
  })),
  emailTypes: Schema.optionalKey(Schema.Array(AuthType)),
  defaultType: Schema.optionalKey(AuthType),
  otpTtlSeconds: Schema.optionalKey(Int(60, 900)),
  linkTtlSeconds: Schema.optionalKey(Int(60, 3600)),
  maxAttempts: Schema.optionalKey(Int(1, 10)),
  maxFailuresPerIdentifier: Schema.optionalKey(Int(1, 100)),
  identifierLockSeconds: Schema.optionalKey(Int(60, 86400)),
  resendCooldownSeconds: Schema.optionalKey(Int(0, 3600)),
  maxResends: Schema.optionalKey(Int(0, 20)),
  sameOriginLinks: Schema.optionalKey(Schema.Boolean),
  linkMode: Schema.optionalKey(Schema.Literals(["direct", "hosted"])),
  redirectAllowlist: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMaxLength(2048)))),
  accessTokenTtlSeconds: Schema.optionalKey(Int(60, 86400)),
  refreshTokenTtlSeconds: Schema.optionalKey(Int(3600, 365 * 86400)),
  sessionLifetimeSeconds: Schema.optionalKey(Int(3600, 3650 * 86400)),
  limits: Schema.optionalKey(Schema.Struct({
    sendPerIdentifierMinute: Schema.optionalKey(Int(1, 1000)),
    sendPerIdentifierHour: Schema.optionalKey(Int(1, 10000)),
    linkSendPerIdentifierHour: Schema.optionalKey(Int(1, 10000)),
    sendPerIpHour: Schema.optionalKey(Int(1, 100000)),
    requestsPerKeyMinute: Schema.optionalKey(Int(1, 1000000)),
    smsSendPerPhoneHour: Schema.optionalKey(Int(1, 10000)),
    verifyPerIdentifierMinute: Schema.optionalKey(Int(1, 1000)),
    /** SMS pumping (#4): per destination country, per number prefix, and the tenant's whole SMS budget. */
    smsPerCountryHour: Schema.optionalKey(Int(1, 1000000)),
    smsPerPrefixHour: Schema.optionalKey(Int(1, 100000)),
    smsBudgetHour: Schema.optionalKey(Int(1, 1000000))
  })),
  /** What a VOIP number gets: `flag` (sent, marked), `block` (VOIP_NOT_ALLOWED), `challenge` (verify the bound email first). */
  voipAction: Schema.optionalKey(Schema.Literals(["flag", "block", "challenge"])),
  /** Risk score at or above which an SMS send is refused with RISK_BLOCKED. */
  riskBlockAt: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  /** ISO 3166-1 alpha-2 codes; empty or absent: every country (a send elsewhere raises the risk score). */
  smsAllowedCountries: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isPattern(/^[A-Z]{2}$/)))),
  /** Premium-rate and shared-cost numbers are the SMS-pumping favourites: refused unless turned on. */
  smsAllowPremiumRate: Schema.optionalKey(Schema.Boolean),
  /** false: unknown identifiers get the same send response, but no code (API.md "Passwordless"). */
  allowSignup: Schema.optionalKey(Schema.Boolean),
  /** With sign-up off, email an unknown address that it has no account instead of sending nothing. */
  noAccountEmail: Schema.optionalKey(Schema.Boolean),
  resendStrategy: Schema.optionalKey(Schema.Literals(["rotate", "reuse", "keep"])),
  logoUrl: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2048), Schema.isPattern(/^https:\/\/[^\s]+$/))),
  primaryColor: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^#[0-9a-fA-F]{6}$/))),
  senderName: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100))),
  replyTo: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(254))),
  /** The tenant's own texts per template and locale; checked to render when saved (src/templates/TenantTemplates.ts). */
  templates: Schema.optionalKey(Schema.Array(TenantTemplate).check(Schema.isMaxLength(40)))
})
export type TenantSettings = typeof TenantSettings.Type

/** Settings with every default applied: what the services read. */
export interface Policy {
  readonly appName: string
  readonly emailEnabled: boolean
  readonly smsEnabled: boolean
  readonly emailTypes: ReadonlyArray<AuthType>
  readonly defaultType: AuthType
  readonly otpTtlSeconds: number
  readonly linkTtlSeconds: number
  readonly maxAttempts: number
  readonly maxFailuresPerIdentifier: number
  readonly identifierLockSeconds: number
  readonly resendCooldownSeconds: number
  readonly maxResends: number
  readonly sameOriginLinks: boolean
  readonly linkMode: "direct" | "hosted"
  readonly redirectAllowlist: ReadonlyArray<string>
  readonly accessTokenTtlSeconds: number
  readonly refreshTokenTtlSeconds: number
  /** Absolute session lifetime: no refresh extends a session past it (ASVS 10.4.8). */
  readonly sessionLifetimeSeconds: number
  readonly senderName: string | null
  readonly replyTo: string | null
  readonly limits: {
    readonly sendPerIdentifierMinute: number
    readonly sendPerIdentifierHour: number
    readonly linkSendPerIdentifierHour: number
    readonly sendPerIpHour: number
    readonly requestsPerKeyMinute: number
    readonly smsSendPerPhoneHour: number
    readonly verifyPerIdentifierMinute: number
    readonly smsPerCountryHour: number
    readonly smsPerPrefixHour: number
    readonly smsBudgetHour: number
  }
  readonly voipAction: "flag" | "block" | "challenge"
  readonly riskBlockAt: number
  readonly smsAllowedCountries: ReadonlyArray<string>
  readonly smsAllowPremiumRate: boolean
  readonly allowSignup: boolean
  readonly noAccountEmail: boolean
  readonly resendStrategy: "rotate" | "reuse" | "keep"
  readonly logoUrl: string | null
  readonly primaryColor: string | null
  readonly templates: ReadonlyArray<TenantTemplate>
}

export const policyOf = (s: TenantSettings, tenantName: string): Policy => ({
  appName: s.appName ?? tenantName,
  emailEnabled: s.channels?.email ?? true,
  smsEnabled: s.channels?.sms ?? true,
  emailTypes: s.emailTypes ?? ["OTP", "LINK", "LINK_OTP"],
  defaultType: s.defaultType ?? "OTP",
  otpTtlSeconds: s.otpTtlSeconds ?? 300,
  linkTtlSeconds: s.linkTtlSeconds ?? 900,
  // SECURITY.md: a per-request cap of 5 and a per-identifier cap of 20 consecutive failures.
  maxAttempts: s.maxAttempts ?? 5,
  maxFailuresPerIdentifier: s.maxFailuresPerIdentifier ?? 20,
  identifierLockSeconds: s.identifierLockSeconds ?? 900,
  resendCooldownSeconds: s.resendCooldownSeconds ?? 30,
  maxResends: s.maxResends ?? 5,
  sameOriginLinks: s.sameOriginLinks ?? false,
  // API.md: the hosted page (/l/{linkToken}) by default, so mail scanners opening links do no harm.
  linkMode: s.linkMode ?? "hosted",
  redirectAllowlist: s.redirectAllowlist ?? [],
  accessTokenTtlSeconds: s.accessTokenTtlSeconds ?? 3600,
  refreshTokenTtlSeconds: s.refreshTokenTtlSeconds ?? 30 * 86400,
  sessionLifetimeSeconds: s.sessionLifetimeSeconds ?? 90 * 86400,
  senderName: s.senderName ?? null,
  replyTo: s.replyTo ?? null,
  // API.md "Rate limits" defaults.
  limits: {
    sendPerIdentifierMinute: s.limits?.sendPerIdentifierMinute ?? 10,
    sendPerIdentifierHour: s.limits?.sendPerIdentifierHour ?? 50,
    linkSendPerIdentifierHour: s.limits?.linkSendPerIdentifierHour ?? 5,
    sendPerIpHour: s.limits?.sendPerIpHour ?? 30,
    requestsPerKeyMinute: s.limits?.requestsPerKeyMinute ?? 6000,
    smsSendPerPhoneHour: s.limits?.smsSendPerPhoneHour ?? 5,
    verifyPerIdentifierMinute: s.limits?.verifyPerIdentifierMinute ?? 20,
    smsPerCountryHour: s.limits?.smsPerCountryHour ?? 200,
    smsPerPrefixHour: s.limits?.smsPerPrefixHour ?? 10,
    smsBudgetHour: s.limits?.smsBudgetHour ?? 500
  },
  // Auth1: VOIP numbers are allowed but flagged by default; "0.8 - 1.0 Critical: block".
  voipAction: s.voipAction ?? "flag",
  riskBlockAt: s.riskBlockAt ?? 0.8,
  smsAllowedCountries: s.smsAllowedCountries ?? [],
  smsAllowPremiumRate: s.smsAllowPremiumRate ?? false,
  allowSignup: s.allowSignup ?? true,
  noAccountEmail: s.noAccountEmail ?? false,
  resendStrategy: s.resendStrategy ?? "rotate",
  logoUrl: s.logoUrl ?? null,
  primaryColor: s.primaryColor ?? null,
  templates: s.templates ?? []
})
