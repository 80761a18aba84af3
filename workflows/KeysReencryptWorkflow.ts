// Handlers of the `keys.reencrypt` workflow and of the KeyRotation entity. The encrypted columns are walked in key
// order, one activity per batch, so a resumed run continues after the last finished batch. A row is resealed only when
// its envelope's key id is not the current one, and written back compare-and-set. A row that fails to open (unknown
// key id, tampered) is reported by its key, never with its content.
import { Activity } from "@effect/workflow"
import { Effect, Layer, Match, Schema } from "effect"
import { OAuthProviderRepo, secretBinding } from "../entities/identity/OAuthProviderRepo.ts"
import { Crypto } from "../platform/Crypto.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { KeyRotation, KeysReencryptWorkflow, ReencryptFailure, type ReencryptReport } from "./KeysReencryptProtocol.ts"

// --- [SCHEMA]

const BatchResult = Schema.Struct({
	resealed: Schema.Int,
	alreadyCurrent: Schema.Int,
	failures: Schema.Array(ReencryptFailure),
	last: Schema.NullOr(Schema.Tuple(Schema.String, Schema.String)),
})

const Outcome = Schema.Union(
	Schema.TaggedStruct("Resealed", {}),
	Schema.TaggedStruct("Current", {}),
	Schema.TaggedStruct("Failed", { error: Schema.String }),
)
type Outcome = typeof Outcome.Type

// --- [LAYERS]

const KeysReencryptWorkflowLive = KeysReencryptWorkflow.toLayer((payload) =>
	Effect.gen(function* () {
		const repo = yield* OAuthProviderRepo
		const crypto = yield* Crypto
		const batch = (index: number, after: readonly [string, string] | null) =>
			Activity.make({
				name: `batch-${index}`,
				success: BatchResult,
				execute: Effect.gen(function* () {
					const rows = yield* Effect.orDie(repo.scan(after, payload.batchSize))
					const outcomes = yield* Effect.forEach(rows, (row) =>
						(crypto.needsReseal(row.clientSecretEnc)
							? crypto.reseal(row.clientSecretEnc, secretBinding(row.appId, row.provider)).pipe(
									Effect.flatMap((resealed) =>
										repo.reseal({
											appId: row.appId,
											provider: row.provider,
											from: row.clientSecretEnc,
											to: resealed,
										}),
									),
									Effect.as<Outcome>({ _tag: "Resealed" }),
									Effect.catchTags({
										UnknownKeyId: (error) =>
											Effect.succeed<Outcome>({
												_tag: "Failed",
												error: `unknown key id ${error.keyId}`,
											}),
										DecryptionFailed: () =>
											Effect.succeed<Outcome>({ _tag: "Failed", error: "decryption failed" }),
										MalformedEnvelope: () =>
											Effect.succeed<Outcome>({ _tag: "Failed", error: "malformed envelope" }),
									}),
									Effect.orDie,
								)
							: Effect.succeed<Outcome>({ _tag: "Current" })
						).pipe(Effect.map((outcome) => ({ row, outcome }))),
					)
					const last = rows.at(-1)
					return {
						resealed: outcomes.filter(({ outcome }) =>
							Match.value(outcome).pipe(
								Match.tag("Resealed", () => true),
								Match.orElse(() => false),
							),
						).length,
						alreadyCurrent: outcomes.filter(({ outcome }) =>
							Match.value(outcome).pipe(
								Match.tag("Current", () => true),
								Match.orElse(() => false),
							),
						).length,
						failures: outcomes.flatMap(({ row, outcome }) =>
							Match.value(outcome).pipe(
								Match.tag("Failed", ({ error }) => [
									{
										column: "oauth_providers.client_secret",
										key: `${row.appId}/${row.provider}`,
										error,
									},
								]),
								Match.orElse(() => []),
							),
						),
						last:
							rows.length < payload.batchSize || last === undefined
								? null
								: ([last.appId, last.provider] as const),
					}
				}),
			})
		const final = yield* Effect.iterate(
			{
				index: 0,
				after: null as readonly [string, string] | null,
				done: false,
				report: { resealed: 0, alreadyCurrent: 0, failed: 0, failures: [] } as ReencryptReport,
			},
			{
				while: (state) => !state.done,
				body: (state) =>
					Effect.map(batch(state.index, state.after), (result) => ({
						index: state.index + 1,
						after: result.last,
						done: result.last === null,
						report: {
							resealed: state.report.resealed + result.resealed,
							alreadyCurrent: state.report.alreadyCurrent + result.alreadyCurrent,
							failed: state.report.failed + result.failures.length,
							failures: [...state.report.failures, ...result.failures],
						},
					})),
			},
		)
		yield* Effect.logInfo(
			`keys.reencrypt: resealed ${final.report.resealed}, already current ${final.report.alreadyCurrent}, failed ${final.report.failed}`,
		)
		return final.report
	}).pipe(Telemetry.span("KeysReencryptWorkflow.run", { runId: payload.runId })),
)

const KeyRotationLive = KeyRotation.toLayer(
	Effect.succeed({
		Reencrypt: ({ payload }) =>
			Effect.gen(function* () {
				const executionId = yield* KeysReencryptWorkflow.executionId(payload)
				const report = yield* KeysReencryptWorkflow.execute(payload)
				return { executionId, report }
			}).pipe(Telemetry.span("KeyRotation.Reencrypt")),
	}),
)

const KeysReencryptLive = Layer.merge(KeysReencryptWorkflowLive, KeyRotationLive)

// --- [EXPORT]

export { KeysReencryptLive }
