// `dlq …`: the dead-letter queue, one entry per job: list entries through the DlqDirectory entity, retry one (a new,
// linked execution of its job) or drop it.
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Schema } from "effect"
import { DlqCommand, DlqDirectory, DlqEntry, DlqPage } from "../../entities/job/DlqProtocol.ts"
import { DlqReason, DlqReasons, DlqStatuses } from "../../entities/job/JobModel.ts"
import {
	checked,
	cursor,
	group,
	json,
	jsonAccepted,
	leaf,
	limit,
	rendered,
	table,
	tenantFilter,
	tenantOption,
} from "./CliCommand.ts"

// --- [CONSTANTS]

const entryArg = Args.text({ name: "id" }).pipe(
	Args.withSchema(checked(Schema.UUID, "<id> must be a DLQ entry id (a UUID)")),
	Args.withDescription("the DLQ entry's id"),
)

// --- [FUNCTIONS]

const list = leaf(
	"list",
	"dead-lettered jobs, one entry per job",
	{
		// Free text checked against the reasons: as a choice, its seven values would widen every line of `--help`.
		reason: Options.text("reason").pipe(
			Options.withSchema(checked(DlqReason, `--reason must be one of ${DlqReasons.join(", ")}`)),
			Options.optional,
			Options.withDescription(`only entries dead-lettered for this reason: ${DlqReasons.join(", ")}`),
		),
		status: Options.choice("status", DlqStatuses).pipe(
			Options.optional,
			Options.withDescription("only entries in this state"),
		),
		type: Options.text("type").pipe(Options.optional, Options.withDescription("only jobs of this type")),
		tenant: tenantOption,
		limit: limit("entries per page"),
		cursor,
		json,
	},
	(args) =>
		tenantFilter(args.tenant).pipe(
			Effect.zip(DlqDirectory.client),
			Effect.flatMap(([tenantId, directory]) =>
				directory("all").List({
					tenantId,
					reason: Option.getOrNull(args.reason),
					status: Option.getOrNull(args.status),
					type: Option.getOrNull(args.type),
					limit: args.limit,
					cursor: Option.getOrNull(args.cursor),
				}),
			),
			Effect.flatMap(
				rendered(DlqPage, args.json, (encoded) =>
					encoded.items.length === 0
						? "no dead letters"
						: table([
								[
									"ID",
									"TENANT",
									"JOB",
									"TYPE",
									"REASON",
									"STATUS",
									"FAILURES",
									"RETRIES",
									"FAILED",
									"LAST ERROR",
								],
								...encoded.items.map((entry) => [
									entry.id,
									entry.tenantId,
									entry.jobId,
									entry.type,
									entry.reason,
									entry.status,
									String(entry.failures),
									String(entry.retries),
									entry.failedAt,
									entry.lastError ?? "-",
								]),
							]),
				),
			),
		),
)

const retry = leaf(
	"retry",
	"start a new execution of the entry's job",
	{ id: entryArg, json: jsonAccepted("text") },
	(args) =>
		DlqEntry.client.pipe(
			Effect.flatMap((entries) => entries(args.id).Retry(new DlqCommand({ requestKey: crypto.randomUUID() }))),
			Effect.map(
				(retried) =>
					`retried: job ${retried.job.id} is ${retried.job.status} (execution ${retried.job.executionId ?? "-"})`,
			),
		),
)

const drop = leaf("drop", "delete the entry", { id: entryArg, json: jsonAccepted("text") }, (args) =>
	DlqEntry.client.pipe(
		Effect.flatMap((entries) => entries(args.id).Drop(new DlqCommand({ requestKey: crypto.randomUUID() }))),
		Effect.map((dropped) => `dropped: ${dropped.id}`),
	),
)

const DlqCli = group("dlq", "list, retry and drop dead-lettered jobs").pipe(
	Command.withSubcommands([list, retry, drop]),
)

// --- [EXPORT]

export { DlqCli }
