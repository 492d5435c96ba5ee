import { Effect, Layer, Option } from "effect"
import type { CurrentKey } from "../../src/api/Security.ts"
import { AllScopes, ApiKeyId, MessageId, SessionId, TenantId, UserId } from "../../src/domain/Ids.ts"
import { policyOf } from "../../src/domain/TenantSettings.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { DeliveryWorker } from "../../src/delivery/Worker.ts"
import * as CodeStoreMemory from "../../src/passwordless/CodeStoreMemory.ts"
import * as RateLimiterMemory from "../../src/limits/RateLimiterMemory.ts"
import * as AuditMemory from "../../src/audit/AuditMemory.ts"
import { Accounts } from "../../src/passwordless/Accounts.ts"
import * as PasswordlessLive from "../../src/passwordless/Passwordless.ts"
import { layerComposed as IssueStoreComposed } from "../../src/passwordless/IssueStore.ts"
import { layerComposed as VerifyStoreComposed } from "../../src/passwordless/VerifyStore.ts"
import { ExchangeCodes } from "../../src/passwordless/ExchangeCodes.ts"
import { RiskScorer } from "../../src/risk/RiskScorer.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { AppConfig } from "../../src/platform/Config.ts"
import { Transaction } from "../../src/platform/Transaction.ts"
import { Sessions } from "../../src/sessions/Sessions.ts"
import { Tenants } from "../../src/tenants/Tenants.ts"
import { Events } from "../../src/webhooks/Events.ts"

export const tenantId = TenantId.make("ten_000000000000000000test")

export const testCaller: CurrentKey["Service"] = {
  keyId: ApiKeyId.make("key_000000000000000000test"),
  tenantId,
  mode: "test",
  scopes: AllScopes
}

const defaults = { settings: {}, policy: policyOf({}, "Acme") }
const tenant = { id: tenantId, name: "Acme", modes: { live: defaults, test: defaults }, createdAt: new Date(0) }

/**
 * The Passwordless service on deterministic test layers: the in-memory CodeStore, Effect's TestClock
 * (provided by `it.effect`), and fakes for everything around it (delivery, sessions, tenants).
 */
export const PasswordlessTest = PasswordlessLive.layer.pipe(
  Layer.provide(IssueStoreComposed),
  Layer.provide(VerifyStoreComposed),
  Layer.provide(CodeStoreMemory.layer),
  Layer.provide(RateLimiterMemory.layer),
  Layer.provide(AuditMemory.layer),
  Layer.provide(Accounts.layerTest()),
  Layer.provide(Secrets.layerTest),
  Layer.provide(Layer.succeed(AppConfig)({
    port: 0, host: "127.0.0.1", publicUrl: "http://sesame.test", databaseUrl: Option.none(), dataDir: "./.sesame-test", secret: Option.none(),
    smtpUrl: Option.none(), smtpFrom: "Sesame Test <no-reply@sesame.test>", production: false, workerPollMs: 200,
    deliveryRetryBaseMs: 100, logFormat: "pretty"
  })),
  Layer.provide(Transaction.layerTest),
  Layer.provide(Events.layerTest),
  Layer.provide(RiskScorer.layerTest),
  Layer.provide(Layer.mock(Tenants, { get: () => Effect.succeed(tenant) })),
  Layer.provide(Layer.mock(Outbox, {
    enqueue: () => Effect.succeed(MessageId.make("msg_00000000000000000000")),
    deliveryOf: () => Effect.succeed(undefined)
  })),
  Layer.provide(Layer.mock(DeliveryWorker, { wake: Effect.void })),
  Layer.provide(Layer.mock(ExchangeCodes, { pendingFor: () => Effect.succeed(undefined) })),
  Layer.provide(Layer.mock(Sessions, {
    signIn: (input) => Effect.succeed({
      user: {
        id: UserId.make("usr_00000000000000000000"), email: input.email, phone: input.phone, emailVerifiedAt: null,
        phoneVerifiedAt: null, createdAt: new Date(0).toISOString(), lastLoginAt: null
      },
      isNewUser: true,
      session: {
        id: SessionId.make("ses_00000000000000000000"), accessToken: "at", refreshToken: "rt_x", tokenType: "Bearer",
        expiresIn: 3600, expiresAt: 0, refreshExpiresAt: 0
      },
      idToken: "it"
    })
  }))
)
