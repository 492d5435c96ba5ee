import init from "./0001_init.ts"
import sessions from "./0002_sessions.ts"
import abuse from "./0003_abuse.ts"
import webhooks from "./0004_webhooks.ts"
import links from "./0005_links.ts"
import sms from "./0006_sms.ts"
import signingKeyModes from "./0007_signing_key_modes.ts"
import settingsPerMode from "./0008_settings_per_mode.ts"
import hotPaths from "./0009_hot_paths.ts"
import compat from "./0010_compat.ts"
import retention from "./0011_retention.ts"
import consoleTables from "./0012_console.ts"

// `<id>_<name>` → migration effect, the shape `Migrator.fromRecord` loads. Static imports keep
// every migration in the build and type-checked (each must need nothing but SqlClient).
export const migrations = {
  "0001_init": init,
  "0002_sessions": sessions,
  "0003_abuse": abuse,
  "0004_webhooks": webhooks,
  "0005_links": links,
  "0006_sms": sms,
  "0007_signing_key_modes": signingKeyModes,
  "0008_settings_per_mode": settingsPerMode,
  "0009_hot_paths": hotPaths,
  "0010_compat": compat,
  "0011_retention": retention,
  "0012_console": consoleTables
}
