// `keys …`: key rotation. `keys reencrypt` runs the KeyRotation workflow, which reseals every encrypted column with
// the current ENCRYPTION_KEYS key, and prints its report.
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { KeyRotation } from "../../workflows/KeysReencryptProtocol.ts"
import { group, jsonAccepted, leaf, limit, table } from "./CliCommand.ts"

// --- [CONSTANTS]

// The workflow's own bound on a batch (the README's example is `--limit 200`).
const MaxBatchSize = 10_000

// --- [FUNCTIONS]

const reencrypt = leaf(
	"reencrypt",
	"reseal every secret with the current ENCRYPTION_KEYS key",
	{ limit: limit("secrets per batch", MaxBatchSize), json: jsonAccepted("text") },
	(args) =>
		KeyRotation.client.pipe(
			Effect.flatMap((rotation) =>
				rotation("keys").Reencrypt({ runId: crypto.randomUUID(), batchSize: args.limit }),
			),
			Effect.map(({ executionId, report }) =>
				[
					table([
						["execution:", executionId],
						["resealed:", String(report.resealed)],
						["already current:", String(report.alreadyCurrent)],
						["failed:", String(report.failed)],
					]),
					...report.failures.map((failure) => `failed: ${failure.column} ${failure.key}: ${failure.error}`),
				].join("\n"),
			),
		),
)

const KeysCli = group("keys", "encryption key rotation").pipe(Command.withSubcommands([reencrypt]))

// --- [EXPORT]

export { KeysCli }
