// `npm run cli -- tenants|workflows|dlq …`: the operator CLI, a client-only cluster member that calls entities through
// their typed clients (DATABASE_URL required). Exit codes: 0 done, 1 refused or failed, 2 usage error. It exits
// explicitly once the command has finished: cluster client sockets can otherwise keep the process alive.
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Data, Duration, Effect, Either, Layer, Match, Option, ParseResult, Predicate, Schema } from "effect"
import { isIP } from "node:net"
import { parseArgs } from "node:util"
import { DlqReason, DlqStatus } from "../../entities/job/JobModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { TenantSettings, TenantSlug } from "../../entities/tenant/TenantModel.ts"
import {
	CreateTenant,
	Tenant,
	TenantDirectory,
	TenantPage,
	TenantView,
	TransitionTenant,
} from "../../entities/tenant/TenantProtocol.ts"
import { DlqCommand, DlqDirectory, DlqEntry, DlqPage } from "../../entities/job/DlqProtocol.ts"
import { CacheLive } from "../../platform/RedisCache.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoginLimiter } from "../../gateway/identity/LoginLimiter.ts"
import { LoggingStderrLive } from "../../platform/Logging.ts"
import { KeyRotation } from "../../workflows/KeysReencryptProtocol.ts"
import {
	ExecutionDetail,
	ExecutionFilter,
	ExecutionPage,
	ExecutionSummary,
	WorkflowInspector,
} from "../../workflows/WorkflowInspectorProtocol.ts"
import { ClientClusterLive } from "../../platform/Cluster.ts"

// --- [CONSTANTS]

const Usage = [
	"usage: npm run cli -- <command> [--json]",
	"",
	"  tenants list [--limit N] [--cursor C]   tenants, oldest first (N: 1–100, default 20)",
	"  tenants create <slug> <name>            create a tenant; answers once it is active",
	"  tenants show <id|slug>                  one tenant",
	"  tenants suspend <id|slug>               active → suspended",
	"  tenants activate <id|slug>              suspended → active",
	"  tenants clear-login-failures <id|slug> [--ip A]",
	"                                          unblock sign-ins: the client group of address A, or every one that",
	"                                          failed at the tenant (needs the gateways' REDIS_URL / REDIS_KEY_PREFIX)",
	"",
	"  workflows list [--name N] [--status S] [--tenant ID|SLUG]   executions, newest first",
	"  workflows show <executionId>            payload, result, activities with attempts, errors and timing, DLQ",
	"  workflows resume <executionId>          resume a suspended execution (refused once it has finished)",
	"  workflows interrupt <executionId>       interrupt a running execution (refused once it has finished)",
	"",
	"  dlq list [--reason R] [--status open|retrying|resolved] [--type T] [--tenant ID|SLUG]",
	"                                          dead-lettered jobs, one entry per job",
	"  dlq retry <id>                          start a new execution of the entry's job",
	"  dlq drop <id>                           delete the entry",
	"",
	"  keys reencrypt [--limit N]              reseal every secret with the current ENCRYPTION_KEYS key (N per batch)",
	"",
	"  --json       print the result as JSON",
	"  -h, --help   print this help",
	"",
	"exit codes: 0 done, 1 refused or failed, 2 usage error",
].join("\n")

// A command waits for a runner to own the entity; past this it gives up instead of hanging.
const CommandTimeout = Duration.seconds(60)

const DlqListFilter = Schema.Struct({
	tenantId: Schema.NullOr(Schema.UUID),
	reason: Schema.NullOr(DlqReason),
	status: Schema.NullOr(DlqStatus),
	type: Schema.NullOr(Schema.String),
	limit: Schema.Int,
	cursor: Schema.NullOr(Schema.String),
})

// --- [ERRORS]

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

class InvalidArgument extends Data.TaggedError("InvalidArgument")<{ readonly message: string }> {}

class HelpRequested extends Data.TaggedError("HelpRequested") {}

class CommandTimedOut extends Data.TaggedError("CommandTimedOut")<{ readonly message: string }> {}

// --- [FUNCTIONS]

const write = (stream: NodeJS.WriteStream, text: string) =>
	Effect.async<void>((resume) => {
		stream.write(`${text}\n`, () => resume(Effect.void))
	})

// Aligned columns, two spaces apart.
const table = (rows: ReadonlyArray<ReadonlyArray<string>>) =>
	rows
		.map((row) =>
			row
				.map((cell, column) => cell.padEnd(Math.max(...rows.map((other) => (other[column] ?? "").length))))
				.join("  ")
				.trimEnd(),
		)
		.join("\n")

const renderTenant = (json: boolean) => (tenant: TenantView) =>
	json
		? Schema.encode(Schema.parseJson(TenantView))(tenant)
		: Effect.all([
				Schema.encode(TenantView)(tenant),
				Schema.encode(Schema.parseJson(TenantSettings))(tenant.settings),
			]).pipe(
				Effect.map(([encoded, settings]) =>
					table([
						["id:", encoded.id],
						["slug:", encoded.slug],
						["name:", encoded.name],
						["status:", encoded.status],
						["settings:", settings],
						["created:", encoded.createdAt],
						["updated:", encoded.updatedAt],
					]),
				),
			)

const jsonText = Schema.encodeSync(Schema.parseJson())

// An execution's outcome on one line: what it returned, why it failed, or that it has not finished.
const resultLine = (result: unknown, failure: string | null) =>
	failure !== null
		? `failed: ${failure}`
		: Predicate.isObject(result) && "value" in result
			? jsonText(result.value)
			: result === null
				? "- (not finished)"
				: jsonText(result)

// What to run for argv: a usage error or a help request fails before anything connects; otherwise the command,
// whose success is the text to print. An id names the Tenant entity directly; any other key is looked up as a slug.
// `--tenant <id|slug>`: absent is no filter; a malformed or unknown tenant is an error, never an empty list.
const tenantFilter = (ref: string | undefined) =>
	Effect.transposeOption(
		Option.map(Option.fromNullable(ref), (given) =>
			Schema.decodeUnknown(Schema.Union(Schema.UUID, TenantSlug))(given).pipe(
				Effect.mapError(() => new InvalidArgument({ message: "--tenant must be a tenant id or slug" })),
				Effect.zipRight(TenantDirectory.client),
				Effect.flatMap((directory) => {
					const key = Schema.is(Schema.UUID)(given) ? given.toLowerCase() : given
					return directory(key).Resolve({ key })
				}),
				Effect.map((tenant) => tenant.id),
			),
		),
	).pipe(Effect.map(Option.getOrNull))

const command = (argv: ReadonlyArray<string>) =>
	Effect.gen(function* () {
		const { values, positionals } = yield* Either.try({
			try: () =>
				parseArgs({
					args: [...argv],
					options: {
						json: { type: "boolean", default: false },
						help: { type: "boolean", short: "h", default: false },
						limit: { type: "string", default: "20" },
						cursor: { type: "string" },
						name: { type: "string" },
						status: { type: "string" },
						tenant: { type: "string" },
						reason: { type: "string" },
						type: { type: "string" },
						ip: { type: "string" },
					},
					allowPositionals: true,
					strict: true,
				}),
			catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) }),
		})
		yield* Effect.when(Effect.fail(new HelpRequested()), () => values.help)
		const limit = yield* Schema.decodeUnknown(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))(
			values.limit,
		).pipe(Effect.mapError(() => new InvalidArgument({ message: "--limit must be an integer from 1 to 100" })))
		const render = renderTenant(values.json)
		const run = Match.value({
			group: positionals[0],
			verb: positionals[1],
			rest: positionals.slice(2) as ReadonlyArray<string>,
		}).pipe(
			Match.when({ group: "tenants", verb: "list", rest: Schema.is(Schema.Tuple()) }, () =>
				TenantDirectory.client.pipe(
					Effect.flatMap((directory) => directory("list").List({ limit, cursor: values.cursor ?? null })),
					Effect.flatMap((page) =>
						values.json
							? Schema.encode(Schema.parseJson(TenantPage))(page)
							: Schema.encode(TenantPage)(page).pipe(
									Effect.map((encoded) =>
										[
											encoded.items.length === 0
												? "no tenants"
												: table([
														["ID", "SLUG", "NAME", "STATUS", "CREATED"],
														...encoded.items.map((tenant) => [
															tenant.id,
															tenant.slug,
															tenant.name,
															tenant.status,
															tenant.createdAt,
														]),
													]),
											...(encoded.nextCursor === null
												? []
												: [`more: npm run cli -- tenants list --cursor ${encoded.nextCursor}`]),
										].join("\n"),
									),
								),
					),
				),
			),
			Match.when(
				{ group: "tenants", verb: "create", rest: Schema.is(Schema.Tuple(Schema.String, Schema.String)) },
				({ rest: [slug, name] }) =>
					Schema.decodeUnknown(CreateTenant)({
						requestKey: crypto.randomUUID(),
						slug,
						name,
						settings: {},
					}).pipe(
						Effect.mapError(
							(error) =>
								new InvalidArgument({
									message: ParseResult.ArrayFormatter.formatErrorSync(error)
										.map((issue) => `${issue.path.join(".")}: ${issue.message}`)
										.join("; "),
								}),
						),
						Effect.zip(Tenant.client),
						Effect.flatMap(([request, tenants]) => tenants(crypto.randomUUID()).Create(request)),
						Effect.flatMap(render),
					),
			),
			Match.when(
				{ group: "tenants", verb: "show", rest: Schema.is(Schema.Tuple(Schema.String)) },
				({ rest: [key] }) =>
					Schema.decodeUnknown(TenantId)(key).pipe(
						Effect.matchEffect({
							onFailure: () =>
								TenantDirectory.client.pipe(
									Effect.flatMap((directory) => directory(key).Resolve({ key })),
								),
							onSuccess: (tenantId) =>
								Tenant.client.pipe(Effect.flatMap((tenants) => tenants(tenantId).Get())),
						}),
						Effect.flatMap(render),
					),
			),
			Match.when(
				{
					group: "tenants",
					verb: Schema.is(Schema.Literal("suspend", "activate")),
					rest: Schema.is(Schema.Tuple(Schema.String)),
				},
				({ verb, rest: [key] }) =>
					Schema.decodeUnknown(TenantId)(key).pipe(
						Effect.orElse(() =>
							TenantDirectory.client.pipe(
								Effect.flatMap((directory) => directory(key).Resolve({ key })),
								Effect.map((tenant) => tenant.id),
							),
						),
						Effect.zip(Tenant.client),
						Effect.flatMap(([tenantId, tenants]) =>
							tenants(tenantId).Transition(
								new TransitionTenant({ requestKey: crypto.randomUUID(), operation: verb }),
							),
						),
						Effect.flatMap(render),
					),
			),
			Match.when(
				{ group: "tenants", verb: "clear-login-failures", rest: Schema.is(Schema.Tuple(Schema.String)) },
				({ rest: [key] }) =>
					Effect.gen(function* () {
						const ip = yield* Option.match(Option.fromNullable(values.ip), {
							onNone: () => Effect.succeed(null),
							onSome: (address) =>
								isIP(address) === 0
									? Effect.fail(
											new InvalidArgument({ message: "--ip must be an IPv4 or IPv6 address" }),
										)
									: Effect.succeed(address),
						})
						const tenantId = yield* Schema.decodeUnknown(TenantId)(key).pipe(
							Effect.orElse(() =>
								TenantDirectory.client.pipe(
									Effect.flatMap((directory) => directory(key).Resolve({ key })),
									Effect.map((tenant) => tenant.id),
								),
							),
						)
						const cleared = yield* LoginLimiter.clear(tenantId, ip).pipe(Effect.provide(CacheLive))
						return `login failures cleared for tenant ${tenantId}: ${cleared.clientGroups} client group(s)`
					}),
			),
			Match.when({ group: "workflows", verb: "list", rest: Schema.is(Schema.Tuple()) }, () =>
				tenantFilter(values.tenant).pipe(
					Effect.flatMap((tenantId) =>
						Schema.decodeUnknown(ExecutionFilter)({
							workflow: values.name ?? null,
							status: values.status ?? null,
							tenantId,
							since: null,
							until: null,
							limit,
							cursor: values.cursor ?? null,
						}).pipe(Effect.mapError((error) => new InvalidArgument({ message: formatIssues(error) }))),
					),
					Effect.zip(WorkflowInspector.client),
					Effect.flatMap(([filter, inspector]) => inspector("inspector").List(filter)),
					Effect.flatMap((page) =>
						values.json
							? Schema.encode(Schema.parseJson(ExecutionPage))(page)
							: Schema.encode(ExecutionPage)(page).pipe(
									Effect.map((encoded) =>
										[
											encoded.items.length === 0
												? "no executions"
												: table([
														[
															"EXECUTION",
															"WORKFLOW",
															"STATUS",
															"TENANT",
															"JOB",
															"REQUEST",
															"STARTED",
															"FINISHED",
														],
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
													]),
											...(encoded.nextCursor === null
												? []
												: [
														`more: npm run cli -- workflows list --cursor ${encoded.nextCursor}`,
													]),
										].join("\n"),
									),
								),
					),
				),
			),
			Match.when(
				{ group: "workflows", verb: "show", rest: Schema.is(Schema.Tuple(Schema.String)) },
				({ rest: [executionId] }) =>
					WorkflowInspector.client.pipe(
						Effect.flatMap((inspector) => inspector("inspector").Show({ executionId })),
						Effect.flatMap((detail) =>
							values.json
								? Schema.encode(Schema.parseJson(ExecutionDetail))(detail)
								: Schema.encode(ExecutionDetail)(detail).pipe(
										Effect.map((encoded) =>
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
					),
			),
			Match.when(
				{
					group: "workflows",
					verb: Schema.is(Schema.Literal("resume", "interrupt")),
					rest: Schema.is(Schema.Tuple(Schema.String)),
				},
				({ verb, rest: [executionId] }) =>
					WorkflowInspector.client.pipe(
						Effect.flatMap((inspector) =>
							verb === "resume"
								? inspector("inspector").Resume({ executionId })
								: inspector("inspector").Interrupt({ executionId }),
						),
						Effect.flatMap((summary) => Schema.encode(Schema.parseJson(ExecutionSummary))(summary)),
					),
			),
			Match.when({ group: "dlq", verb: "list", rest: Schema.is(Schema.Tuple()) }, () =>
				tenantFilter(values.tenant).pipe(
					Effect.flatMap((tenantId) =>
						Schema.decodeUnknown(DlqListFilter)({
							tenantId,
							reason: values.reason ?? null,
							status: values.status ?? null,
							type: values.type ?? null,
							limit,
							cursor: values.cursor ?? null,
						}).pipe(Effect.mapError((error) => new InvalidArgument({ message: formatIssues(error) }))),
					),
					Effect.zip(DlqDirectory.client),
					Effect.flatMap(([filter, directory]) => directory("all").List(filter)),
					Effect.flatMap((page) =>
						values.json
							? Schema.encode(Schema.parseJson(DlqPage))(page)
							: Schema.encode(DlqPage)(page).pipe(
									Effect.map((encoded) =>
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
				),
			),
			Match.when(
				{
					group: "dlq",
					verb: Schema.is(Schema.Literal("retry", "drop")),
					rest: Schema.is(Schema.Tuple(Schema.UUID)),
				},
				({ verb, rest: [id] }) =>
					DlqEntry.client.pipe(
						Effect.flatMap((entries) =>
							verb === "retry"
								? entries(id)
										.Retry(new DlqCommand({ requestKey: crypto.randomUUID() }))
										.pipe(
											Effect.map(
												(retried) =>
													`retried: job ${retried.job.id} is ${retried.job.status} (execution ${retried.job.executionId ?? "-"})`,
											),
										)
								: entries(id)
										.Drop(new DlqCommand({ requestKey: crypto.randomUUID() }))
										.pipe(Effect.map((dropped) => `dropped: ${dropped.id}`)),
						),
					),
			),
			Match.when({ group: "keys", verb: "reencrypt", rest: Schema.is(Schema.Tuple()) }, () =>
				KeyRotation.client.pipe(
					Effect.flatMap((rotation) =>
						rotation("keys").Reencrypt({ runId: crypto.randomUUID(), batchSize: limit }),
					),
					Effect.map(({ executionId, report }) =>
						[
							table([
								["execution:", executionId],
								["resealed:", String(report.resealed)],
								["already current:", String(report.alreadyCurrent)],
								["failed:", String(report.failed)],
							]),
							...report.failures.map(
								(failure) => `failed: ${failure.column} ${failure.key}: ${failure.error}`,
							),
						].join("\n"),
					),
				),
			),
			Match.option,
		)
		return yield* Option.match(run, {
			onNone: () =>
				Effect.fail(
					new UsageError({
						message:
							positionals.length === 0
								? "no command given"
								: `unknown command or wrong arguments: ${positionals.join(" ")}`,
					}),
				),
			onSome: Effect.succeed,
		})
	})

const formatIssues = (error: ParseResult.ParseError) =>
	ParseResult.ArrayFormatter.formatErrorSync(error)
		.map((issue) => `--${String(issue.path[0] ?? "argument")}: ${issue.message}`)
		.join("; ")

// --- [LAYERS]

const CliLive = ClientClusterLive.pipe(Layer.provideMerge(DatabaseLive))

// --- [MAIN]

command(process.argv.slice(2)).pipe(
	Effect.flatMap((run) =>
		run.pipe(
			Effect.timeoutFail({
				duration: CommandTimeout,
				onTimeout: () =>
					new CommandTimedOut({
						message: `no answer within ${Duration.format(CommandTimeout)}: is a runner up?`,
					}),
			}),
			Effect.provide(CliLive),
		),
	),
	Effect.flatMap((output) => write(process.stdout, output)),
	Effect.as(0),
	Effect.catchTags({
		HelpRequested: () => write(process.stdout, Usage).pipe(Effect.as(0)),
		UsageError: (error) => write(process.stderr, `UsageError: ${error.message}\n\n${Usage}`).pipe(Effect.as(2)),
		InvalidArgument: (error) => write(process.stderr, `InvalidArgument: ${error.message}`).pipe(Effect.as(2)),
		ExecutionNotFound: (error) => write(process.stderr, `ExecutionNotFound: ${error.message}`).pipe(Effect.as(1)),
		ExecutionFinished: (error) => write(process.stderr, `ExecutionFinished: ${error.message}`).pipe(Effect.as(1)),
		DlqEntryNotFound: (error) => write(process.stderr, `DlqEntryNotFound: ${error.message}`).pipe(Effect.as(1)),
		JobNotFound: (error) => write(process.stderr, `JobNotFound: ${error.message}`).pipe(Effect.as(1)),
		StorageUnavailable: (error) => write(process.stderr, `StorageUnavailable: ${error.message}`).pipe(Effect.as(1)),
		CacheUnavailable: (error) =>
			write(process.stderr, `CacheUnavailable: Redis did not answer (${error.operation})`).pipe(Effect.as(1)),
		TenantNotFound: (error) => write(process.stderr, `TenantNotFound: ${error.message}`).pipe(Effect.as(1)),
		TenantSlugTaken: (error) => write(process.stderr, `TenantSlugTaken: ${error.message}`).pipe(Effect.as(1)),
		InvalidTransition: (error) => write(process.stderr, `InvalidTransition: ${error.message}`).pipe(Effect.as(1)),
		CommandTimedOut: (error) => write(process.stderr, `CommandTimedOut: ${error.message}`).pipe(Effect.as(1)),
	}),
	Effect.catchAllCause((cause) =>
		write(
			process.stderr,
			`error: ${
				Cause.isInterruptedOnly(cause)
					? "interrupted"
					: Match.value(Cause.squash(cause)).pipe(
							Match.when(Match.instanceOf(Error), (error) => error.message),
							Match.orElse((defect) => String(defect)),
						)
			}`
				.split("\n")
				.join(" "),
		).pipe(Effect.as(1)),
	),
	Effect.flatMap((code) => Effect.sync(() => process.exit(code))),
	Effect.provide(LoggingStderrLive),
	NodeRuntime.runMain({ disablePrettyLogger: true }),
)
