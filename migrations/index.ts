import init from "./0001_init.ts"

// `<id>_<name>` → migration effect, the shape `Migrator.fromRecord` loads. Static imports keep
// every migration in the build and type-checked (each must need nothing but SqlClient).
export const migrations = {
  "0001_init": init
}
