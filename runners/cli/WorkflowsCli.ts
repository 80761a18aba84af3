// `workflows …`: list and inspect workflow executions through the WorkflowInspector entity, and resume or interrupt
// one (refused with ExecutionFinished once it has finished).
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Predicate, Schema } from "effect"
import {
	ExecutionDetail,
	ExecutionPage,
	ExecutionStatus,
	ExecutionSummary,
	WorkflowInspector,
} from "../../workflows/WorkflowInspectorProtocol.ts"
import {
	cursor,
	group,
	json,
	jsonAccepted,
	jsonText,
	leaf,
	limit,
	rendered,
	pageLines,
	table,
	tenantFilter,
	tenantOption,
} from "./CliCommand.ts"

// --- [CONSTANTS]

const executionArg = Args.text({ name: "executionId" }).pipe(Args.withDescription("the execution's id"))

// --- [FUNCTIONS]

// An execution's outcome on one line: what it returned, why it failed, or that it has not finished.
const resultLine = (result: unknown, failure: string | null) =>
	failure !== null
		? `failed: ${failure}`
		: Predicate.isObject(result) && "value" in result
			? jsonText(result.value)
			: result === null
				? "- (not finished)"
				: jsonText(result)

const list = leaf(
	"list",
	"executions, newest first",
	{
		name: Options.text("name").pipe(
			Options.optional,
			Options.withDescription("only this workflow (e.g. HttpCall)"),
		),
		status: Options.choice("status", ExecutionStatus.literals).pipe(
			Options.optional,
			Options.withDescription("only executions in this state"),
		),
		tenant: tenantOption,
		limit: limit("executions per page"),
		cursor,
		json,
	},
	(args) =>
		tenantFilter(args.tenant).pipe(
			Effect.zip(WorkflowInspector.client),
			Effect.flatMap(([tenantId, inspector]) =>
				inspector("inspector").List({
					workflow: Option.getOrNull(args.name),
					status: Option.getOrNull(args.status),
					tenantId,
					since: null,
					until: null,
					limit: args.limit,
					cursor: Option.getOrNull(args.cursor),
				}),
			),
			Effect.flatMap(
				rendered(ExecutionPage, args.json, (encoded) =>
					pageLines(
						"no executions",
						[
							["EXECUTION", "WORKFLOW", "STATUS", "TENANT", "JOB", "REQUEST", "STARTED", "FINISHED"],
							...encoded.items.map((execution) => [
								execution.executionId,
								execution.workflow,
								execution.status,
								execution.tenantId ?? "-",
								execution.jobId ?? "-",
								execution.requestId ?? "-",
								execution.startedAt,
								execution.finishedAt ?? "-",
							]),
						],
						encoded.nextCursor,
						"workflows list",
					),
				),
			),
		),
)

const show = leaf(
	"show",
	"payload, result, activities with attempts, errors and timing, DLQ entries",
	{ executionId: executionArg, json },
	(args) =>
		WorkflowInspector.client.pipe(
			Effect.flatMap((inspector) => inspector("inspector").Show({ executionId: args.executionId })),
			Effect.flatMap(
				rendered(ExecutionDetail, args.json, (encoded) =>
					[
						table([
							["execution:", encoded.executionId],
							["workflow:", encoded.workflow],
							["status:", encoded.status],
							["tenant:", encoded.tenantId ?? "-"],
							["job:", encoded.jobId ?? "-"],
							["request:", encoded.requestId ?? "-"],
							["started:", encoded.startedAt],
							["finished:", encoded.finishedAt ?? "-"],
							["payload:", jsonText(encoded.payload)],
							["result:", resultLine(encoded.result, encoded.failure ?? null)],
							...encoded.deadLetters.map((entry) => [
								"dead letter:",
								`${entry.id} ${entry.status}, ${entry.reason}, ${entry.failures} failed run(s), ${entry.retries} retries: ${entry.lastError ?? "-"}`,
							]),
						]),
						"",
						table([
							["ACTIVITY", "ATTEMPT", "STATUS", "STARTED", "FINISHED", "ERROR"],
							...encoded.activities.flatMap((activity) =>
								activity.attempts.map((attempt) => [
									`${activity.compensation ? "(compensation) " : ""}${activity.name}`,
									String(attempt.attempt),
									attempt.status,
									attempt.startedAt,
									attempt.finishedAt ?? "-",
									attempt.message ?? "-",
								]),
							),
						]),
					].join("\n"),
				),
			),
		),
)

// Resume and interrupt answer the execution's summary, always as JSON.
const control = (operation: "resume" | "interrupt", description: string) =>
	leaf(operation, description, { executionId: executionArg, json: jsonAccepted("JSON") }, (args) =>
		WorkflowInspector.client.pipe(
			Effect.flatMap((inspector) =>
				operation === "resume"
					? inspector("inspector").Resume({ executionId: args.executionId })
					: inspector("inspector").Interrupt({ executionId: args.executionId }),
			),
			Effect.flatMap((summary) => Schema.encode(Schema.parseJson(ExecutionSummary))(summary)),
		),
	)

const WorkflowsCli = group("workflows", "inspect, resume and interrupt workflow executions").pipe(
	Command.withSubcommands([
		list,
		show,
		control("resume", "resume a suspended execution (refused once it has finished)"),
		control("interrupt", "interrupt a running execution (refused once it has finished)"),
	]),
)

// --- [EXPORT]

export { WorkflowsCli }
