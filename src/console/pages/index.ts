/** The console's pages (#14), each a module that adds its routes through the Kit. */
import { auditPages } from "./Audit.ts"
import { brandingPages } from "./Branding.ts"
import { keyPages } from "./Keys.ts"
import { operatorPages } from "./Operators.ts"
import { outboxPages } from "./Outbox.ts"
import { overviewPages } from "./Overview.ts"
import { requestPages } from "./Requests.ts"
import { tenantPages } from "./Tenants.ts"
import { userPages } from "./Users.ts"
import { webhookPages } from "./Webhooks.ts"

export const pages = [
  overviewPages, tenantPages, brandingPages, keyPages, userPages, requestPages, webhookPages, auditPages, outboxPages, operatorPages
] as const
