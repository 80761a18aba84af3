// `npm run cli -- tenants|workflows|dlq|keys …`: the operator CLI, a client-only cluster member that calls entities
// through their typed clients (DATABASE_URL required). The commands are @effect/cli data, which gives `--help` on
// every command and `--completions bash|zsh|fish`. Exit codes: 0 done, 1 refused or failed, 2 usage error (reported
// before anything connects). It exits explicitly once the command has finished: cluster client sockets can otherwise
// keep the process alive.
import { CliConfig, Command, CommandDescriptor, HelpDoc, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Array as Arr, Cause, Effect, HashMap, Layer, Match, Option, Order, Tuple } from "effect"
import packageJson from "../../package.json" with { type: "json" }
import { ClientClusterLive } from "../../platform/Cluster.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoggingStderrLive } from "../../platform/Logging.ts"
import { UsageError, write } from "./CliCommand.ts"
import { DlqCli } from "./DlqCli.ts"
import { KeysCli } from "./KeysCli.ts"
import { TenantsCli } from "./TenantsCli.ts"
import { WorkflowsCli } from "./WorkflowsCli.ts"

// --- [CONSTANTS]

// Case-sensitive like every shell tool: `tenants show Acme` is not `tenants show acme`.
const Config = CliConfig.make({ isCaseSensitive: true, showTypes: false })

const argv = process.argv.slice(2)

// @effect/cli's built-in options (BuiltInOptions), which it answers without a command.
const BuiltIns = ["--help", "-h", "--completions", "--version", "--wizard", "--log-level"]

// --- [FUNCTIONS]

const Groups = [TenantsCli, WorkflowsCli, DlqCli, KeysCli] as const

const Cli = Command.make("cli").pipe(
	Command.withDescription("operator CLI: npm run cli -- <group> <command> [options]"),
	Command.withSubcommands(Groups),
)

// Each group's name → the names of its commands.
const CommandTree = HashMap.fromIterable(
	Arr.flatMap(
		Groups.map((group): CommandDescriptor.Command<unknown> => group.descriptor),
		(group) =>
			Arr.map(Arr.fromIterable(CommandDescriptor.getNames(group)), (name) =>
				Tuple.make(
					name,
					Arr.sort(Arr.fromIterable(HashMap.keys(CommandDescriptor.getSubcommands(group))), Order.string),
				),
			),
	),
)

// The words before the first option: the group and the command within it.
const commandWords = Arr.takeWhile(argv, (word) => !word.startsWith("-"))

// @effect/cli reports an unknown command of a group as a mismatch of the group's parent ("Invalid subcommand for cli
// - use 'tenants'"), so the command words are first checked against the same command tree, to name what is wrong.
const misuse = (): Option.Option<string> => {
	const [groupName, commandName] = commandWords
	const commands = Option.fromNullable(groupName).pipe(Option.flatMap((name) => HashMap.get(CommandTree, name)))
	const groupNames = Arr.sort(Arr.fromIterable(HashMap.keys(CommandTree)), Order.string).join(", ")
	const builtIn = argv.some((word) => BuiltIns.includes(word.split("=")[0] ?? word))
	return argv.length === 0
		? Option.some(`no command given (one of ${groupNames})`)
		: groupName === undefined
			? builtIn
				? Option.none()
				: Option.some(`options go after the command: npm run cli -- <group> <command> [options]`)
			: Option.isNone(commands)
				? Option.some(`unknown command: ${groupName} (one of ${groupNames})`)
				: commandName === undefined
					? builtIn
						? Option.none()
						: Option.some(`missing command: ${groupName} ${commands.value.join("|")}`)
					: commands.value.includes(commandName)
						? Option.none()
						: Option.some(
								`unknown command: ${groupName} ${commandName} (${groupName} takes ${commands.value.join(", ")})`,
							)
}

const usage = [
	"usage: npm run cli -- <group> <command> [options]",
	"",
	HelpDoc.toAnsiText(Command.getHelp(Cli, { ...Config, showBuiltIns: false })).trimEnd(),
	"",
	"npm run cli -- <group> <command> --help describes one command; --completions bash prints a completion script.",
].join("\n")

const failure = (tag: string, message: string) => write(process.stderr, `${tag}: ${message}`).pipe(Effect.as(1))

// --- [LAYERS]

const CliLive = ClientClusterLive.pipe(Layer.provideMerge(DatabaseLive))

// --- [MAIN]

// The cluster connects only once a command's arguments have parsed (Command.provide wraps the handler): help,
// completions and usage errors never need the database.

Option.match(misuse(), {
	onSome: (message): Effect.Effect<void, UsageError> => Effect.fail(new UsageError({ message })),
	onNone: () => Effect.void,
}).pipe(
	Effect.zipRight(
		Command.run(Command.provide(Cli, CliLive), { name: "cli", version: packageJson.version })(process.argv),
	),
	Effect.as(0),
	// @effect/cli has already printed what is wrong with the arguments.
	Effect.catchIf(ValidationError.isValidationError, () =>
		write(process.stderr, `usage: npm run cli -- ${[...commandWords.slice(0, 2), "--help"].join(" ")}`).pipe(
			Effect.as(2),
		),
	),
	Effect.catchTags({
		UsageError: (error) => write(process.stderr, `UsageError: ${error.message}\n\n${usage}`).pipe(Effect.as(2)),
		ExecutionNotFound: (error) => failure(error._tag, error.message),
		ExecutionFinished: (error) => failure(error._tag, error.message),
		DlqEntryNotFound: (error) => failure(error._tag, error.message),
		JobNotFound: (error) => failure(error._tag, error.message),
		StorageUnavailable: (error) => failure(error._tag, error.message),
		CacheUnavailable: (error) => failure(error._tag, `Redis did not answer (${error.operation})`),
		TenantNotFound: (error) => failure(error._tag, error.message),
		TenantSlugTaken: (error) => failure(error._tag, error.message),
		InvalidTransition: (error) => failure(error._tag, error.message),
		CommandTimedOut: (error) => failure(error._tag, error.message),
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
	Effect.provide(CliConfig.layer(Config)),
	Effect.provide(NodeContext.layer),
	Effect.provide(LoggingStderrLive),
	NodeRuntime.runMain({ disablePrettyLogger: true }),
)
