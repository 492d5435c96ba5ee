/**
 * `sesame operator add|list|remove` (#14): the real command line on the embedded database (PGlite
 * persisted in a temporary SESAME_DATA_DIR). Each command cold-starts PGlite, so the steps share one
 * data directory and run in order.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { cli, runCli } from "../support/Processes.ts"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** The one line of `--json` output (logs go to stderr). */
const json = (stdout: string): Record<string, unknown> => {
  const lines = stdout.split("\n").filter((line) => line !== "")
  assert.strictEqual(lines.length, 1, `stdout must be exactly one line, got:\n${stdout}`)
  const parsed: unknown = JSON.parse(lines[0] ?? "null")
  assert.isTrue(isRecord(parsed), stdout)
  return isRecord(parsed) ? parsed : {}
}

describe("sesame operator (embedded database)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-operators-"))
  const env = { SESAME_DATA_DIR: dataDir, PUBLIC_URL: "https://sesame.example.com" }
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it("refuses a bad role or a missing email as a usage error, before opening the database", async () => {
    const badRole = await runCli(["operator", "add", "--email", "ada@example.com", "--role", "superuser"], env)
    assert.strictEqual(badRole.code, 1, badRole.stdout + badRole.stderr)
    assert.include(badRole.stderr, "invalid --role (owner, admin or viewer): superuser")
    assert.strictEqual(badRole.stdout, "")
    assert.deepStrictEqual(readdirSync(dataDir), [], "nothing was created")

    const noEmail = await runCli(["operator", "add", "--role", "owner"], env)
    assert.strictEqual(noEmail.code, 1)
    assert.include(noEmail.stderr, "--email is required")
    const noRole = await runCli(["operator", "add", "--email", "ada@example.com"], env)
    assert.strictEqual(noRole.code, 1)
    assert.include(noRole.stderr, "invalid --role")
  }, 60_000)

  it("adds operators (normalised; again: a new role), lists them, removes one", async () => {
    const ada = json(await cli(["operator", "add", "--email", " Ada@Example.COM ", "--role", "owner", "--json"], env))
    assert.isTrue(isRecord(ada["operator"]))
    const adaOperator = isRecord(ada["operator"]) ? ada["operator"] : {}
    assert.match(String(adaOperator["id"]), /^op_/)
    assert.deepInclude(adaOperator, { email: "ada@example.com", role: "owner" })

    const text = await cli(["operator", "add", "--email", "bob@example.com", "--role", "admin"], env)
    assert.include(text, "operator bob@example.com (admin) may sign in at https://sesame.example.com/console")

    const demoted = json(await cli(["operator", "add", "--email", "ada@example.com", "--role", "viewer", "--json"], env))
    assert.deepStrictEqual(demoted, { operator: { id: adaOperator["id"], email: "ada@example.com", role: "viewer" } })

    const listed = json(await cli(["operator", "list", "--json"], env))
    const operators = Array.isArray(listed["operators"]) ? listed["operators"] : []
    assert.deepStrictEqual(operators.map((o: unknown) => isRecord(o) ? [o["email"], o["role"]] : o), [["ada@example.com", "viewer"], ["bob@example.com", "admin"]])
    assert.isTrue(operators.every((o: unknown) => isRecord(o) && typeof o["createdAt"] === "string" && !Number.isNaN(Date.parse(String(o["createdAt"])))))

    const removed = await cli(["operator", "remove", "--email", "ADA@example.com"], env)
    assert.include(removed, "removed ADA@example.com; their console sessions have ended")
    const again = await runCli(["operator", "remove", "--email", "ada@example.com"], env)
    assert.strictEqual(again.code, 1)
    assert.include(again.stderr, "no operator ada@example.com")
    const invalid = await runCli(["operator", "add", "--email", "not-an-address", "--role", "admin"], env)
    assert.strictEqual(invalid.code, 1)
    assert.include(invalid.stderr, "not a valid email address")

    assert.strictEqual((await cli(["operator", "list"], env)).trim(), "bob@example.com\tadmin")
  }, 120_000)
})
