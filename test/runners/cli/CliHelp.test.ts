// The operator CLI's generated help and its usage errors, run as the operator runs it (a process per command line)
// with no DATABASE_URL: help, completions and wrong arguments must all be answered before anything connects.
import { describe, expect, it } from "vitest"
import { run } from "../../fixtures/Processes.ts"

const TestTimeoutMs = 120_000

// Every group with every command of it, as the README and CONTRACT name them.
const Commands = {
	tenants: ["list", "create", "show", "suspend", "activate", "clear-login-failures"],
	workflows: ["list", "show", "resume", "interrupt"],
	dlq: ["list", "retry", "drop"],
	keys: ["reencrypt"],
} as const

// Help is rendered with ANSI styles even into a pipe; the assertions read the text.
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "")

const cli = async (args: Array<string>) => {
	const result = await run("cli", { LOG_LEVEL: "Warn" }, args)
	return { code: result.code, output: plain(result.output) }
}

// A usage error is one short message, never a stack trace or a logged cause.
const expectNoStackTrace = (output: string) => {
	expect(output).not.toMatch(/^\s+at /m)
	expect(output).not.toMatch(/\.ts:\d+:\d+/)
}

describe("cli: help and usage errors", () => {
	it(
		"--help lists every command group with each of its commands and exits 0",
		async () => {
			const help = await cli(["--help"])
			expect(help.code, help.output).toBe(0)
			expect(help.output).toContain("COMMANDS")
			Object.entries(Commands).forEach(([group, commands]) =>
				commands.forEach((command) => expect(help.output).toMatch(new RegExp(`- ${group} ${command} `))),
			)
		},
		TestTimeoutMs,
	)

	it(
		"--help on a command describes its arguments and options",
		async () => {
			const clear = await cli(["tenants", "clear-login-failures", "--help"])
			expect(clear.code, clear.output).toBe(0)
			expect(clear.output).toContain("<id|slug>")
			expect(clear.output).toContain("--ip")
			expect(clear.output).toContain("only the client group of this address")

			const dlqList = await cli(["dlq", "list", "--help"])
			expect(dlqList.code, dlqList.output).toBe(0)
			expect(dlqList.output).toMatch(/--status open \| retrying \| resolved/)
			expect(dlqList.output).toContain("--tenant")
		},
		TestTimeoutMs,
	)

	it(
		"--completions bash prints a completion script for every command",
		async () => {
			const completions = await cli(["--completions", "bash"])
			expect(completions.code, completions.output).toBe(0)
			expect(completions.output).toMatch(/^complete -F /m)
			expect(completions.output).toContain("clear-login-failures")
			expect(completions.output).toContain("reencrypt")
		},
		TestTimeoutMs,
	)

	it(
		"a wrong argument exits 2 with one clear message and no stack trace",
		async () => {
			const notANumber = await cli(["tenants", "list", "--limit", "many"])
			expect(notANumber.code, notANumber.output).toBe(2)
			expect(notANumber.output).toContain("'many' is not a integer")
			expect(notANumber.output).toContain("usage: npm run cli -- tenants list --help")
			expectNoStackTrace(notANumber.output)

			const badId = await cli(["dlq", "retry", "not-a-uuid"])
			expect(badId.code, badId.output).toBe(2)
			expect(badId.output).toContain("<id> must be a DLQ entry id (a UUID)")
			expectNoStackTrace(badId.output)

			const badReason = await cli(["dlq", "list", "--reason", "Bored"])
			expect(badReason.code, badReason.output).toBe(2)
			expect(badReason.output).toContain("--reason must be one of")
			expectNoStackTrace(badReason.output)
		},
		TestTimeoutMs,
	)

	it(
		"an unknown or missing command exits 2 naming what exists",
		async () => {
			const unknown = await cli(["tenants", "frobnicate"])
			expect(unknown.code, unknown.output).toBe(2)
			expect(unknown.output).toContain("UsageError: unknown command: tenants frobnicate")
			expect(unknown.output).toContain("clear-login-failures")
			expectNoStackTrace(unknown.output)

			const missing = await cli(["dlq"])
			expect(missing.code, missing.output).toBe(2)
			expect(missing.output).toContain("UsageError: missing command: dlq drop|list|retry")

			// Options follow the command words (the old parser took them anywhere).
			const optionFirst = await cli(["--json", "tenants", "list"])
			expect(optionFirst.code, optionFirst.output).toBe(2)
			expect(optionFirst.output).toContain("UsageError: options go after the command")

			const nothing = await cli([])
			expect(nothing.code, nothing.output).toBe(2)
			expect(nothing.output).toContain("UsageError: no command given (one of dlq, keys, tenants, workflows)")
			expect(nothing.output).toContain("usage:")
		},
		TestTimeoutMs,
	)
})
