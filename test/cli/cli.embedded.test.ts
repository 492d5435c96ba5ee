/**
 * The operator command line on the embedded database (no DATABASE_URL; PGlite persisted in a
 * temporary SESAME_DATA_DIR). Each command cold-starts PGlite (a few seconds), so this stays short.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { parseTenant, runCli } from "../support/Processes.ts"

describe("sesame CLI (embedded database)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-cli-"))
  const env = { SESAME_DATA_DIR: dataDir }
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it("migrate exits 0 twice (persisted between processes); then tenant create --json prints one JSON line", async () => {
    const first = await runCli(["migrate"], env)
    assert.strictEqual(first.code, 0, first.stdout + first.stderr)
    const second = await runCli(["migrate"], env)
    assert.strictEqual(second.code, 0, second.stdout + second.stderr)
    assert.notInclude(second.stdout + second.stderr, "applied", "the migrations were persisted in SESAME_DATA_DIR")

    const created = await runCli(["tenant", "create", "--name", "Embedded", "--json"], env)
    assert.strictEqual(created.code, 0, created.stderr)
    const lines = created.stdout.split("\n").filter((line) => line !== "")
    assert.strictEqual(lines.length, 1, `stdout must be exactly one line, got:\n${created.stdout}`)
    const tenant = parseTenant(created.stdout)
    assert.strictEqual(tenant.tenant.name, "Embedded")
    assert.match(tenant.tenant.id, /^ten_/)
    assert.match(tenant.keys.live, /^sk_live_/)
    assert.match(tenant.keys.test, /^sk_test_/)
  }, 60_000)
})
