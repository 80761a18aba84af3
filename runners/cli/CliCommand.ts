// What every operator command shares: how a command is declared (its handler returns the text to print, bounded by a
// timeout), the options several commands take, table output, and naming a tenant by id or slug.
import { Command, Options } from "@effect/cli"
import { Data, Duration, Effect, Option, Schema, type Types } from "effect"
import { TenantId } from "../../entities/Tenancy.ts"
import { TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { TenantDirectory } from "../../entities/tenant/TenantProtocol.ts"

// --- [CONSTANTS]

// A command waits for a runner to own the entity; past this it gives up instead of hanging.
const CommandTimeout = Duration.seconds(60)

const PageLimits = { min: 1, max: 100, default: 20 } as const

// --- [ERRORS]

// A command line that names no command, or one that does not exist (exit 2, before anything connects).
class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

class CommandTimedOut extends Data.TaggedError("CommandTimedOut")<{ readonly message: string }> {}

// --- [FUNCTIONS]

// Resolves once the text is flushed: the process exits right after the last write.
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

const jsonText = Schema.encodeSync(Schema.parseJson())

// A command's result: JSON with `--json`, otherwise its encoded form as the text `render` makes of it.
const rendered =
	<A, I>(schema: Schema.Schema<A, I>, asJson: boolean, render: (encoded: I) => string) =>
	(value: A) =>
		asJson ? Schema.encode(Schema.parseJson(schema))(value) : Schema.encode(schema)(value).pipe(Effect.map(render))

// `more: …` names the command line that prints the next page.
const pageLines = (empty: string, rows: ReadonlyArray<ReadonlyArray<string>>, next: string | null, command: string) =>
	[
		rows.length <= 1 ? empty : table(rows),
		...(next === null ? [] : [`more: npm run cli -- ${command} --cursor ${next}`]),
	].join("\n")

// A value that must match `schema`, refused at parse time (exit 2) with one line naming the option.
const checked = <A, I>(schema: Schema.Schema<A, I>, message: string) =>
	Schema.String.pipe(Schema.filter((value) => Schema.is(schema)(value), { message: () => message }))

const json = Options.boolean("json").pipe(Options.withDescription("print the result as JSON"))

// `--json` was always accepted by every command: where there is no JSON form it is accepted and changes nothing.
const jsonAccepted = (output: string) =>
	Options.boolean("json").pipe(Options.withDescription(`accepted for scripts; the output is ${output} either way`))

// `--limit N`: a page size (1–100, as the admin API's pages) or, where a command says so, a larger bound.
const limit = (description: string, max: number = PageLimits.max) =>
	Options.integer("limit").pipe(
		Options.withSchema(
			Schema.Int.pipe(
				Schema.between(PageLimits.min, max, {
					message: () => `--limit must be an integer from ${PageLimits.min} to ${max}`,
				}),
			),
		),
		Options.withDefault(PageLimits.default),
		Options.withDescription(`${description} (${PageLimits.min}–${max}, default ${PageLimits.default})`),
	)

const cursor = Options.text("cursor").pipe(
	Options.optional,
	Options.withDescription("continue after this cursor (printed as `more: …` under a full page)"),
)

const tenantKey = Schema.Union(Schema.UUID, TenantSlug)

// `--tenant <id|slug>` of the list commands: a malformed value is a usage error, an unknown one TenantNotFound.
const tenantOption = Options.text("tenant").pipe(
	Options.withSchema(checked(tenantKey, "--tenant must be a tenant id or slug")),
	Options.optional,
	Options.withDescription("only this tenant (its id or slug)"),
)

// The directory answers for a slug or an id; an unknown key fails with TenantNotFound.
const resolveTenant = (key: string) =>
	TenantDirectory.client.pipe(Effect.flatMap((directory) => directory(key).Resolve({ key })))

// An id names the Tenant entity directly; any other key is looked up as a slug.
const tenantIdOf = (key: string) =>
	Schema.decodeUnknown(TenantId)(key).pipe(
		Effect.orElse(() => resolveTenant(key).pipe(Effect.map((tenant) => tenant.id))),
	)

// `--tenant` as a filter: absent is no filter; an id is checked to exist, never taken on trust (no empty list for a
// tenant that does not exist).
const tenantFilter = (given: Option.Option<string>) =>
	Effect.transposeOption(
		Option.map(given, (key) =>
			resolveTenant(Schema.is(Schema.UUID)(key) ? key.toLowerCase() : key).pipe(
				Effect.map((tenant) => tenant.id),
			),
		),
	).pipe(Effect.map(Option.getOrNull))

// One leaf command: its handler returns the text to print (stdout); a runner that does not answer in time fails it.
const leaf = <Name extends string, const Config extends Command.Command.Config, E, R>(
	name: Name,
	description: string,
	config: Config,
	handler: (args: Types.Simplify<Command.Command.ParseConfig<Config>>) => Effect.Effect<string, E, R>,
) =>
	Command.make(name, config, (args) =>
		handler(args).pipe(
			Effect.timeoutFail({
				duration: CommandTimeout,
				onTimeout: () =>
					new CommandTimedOut({
						message: `no answer within ${Duration.format(CommandTimeout)}: is a runner up?`,
					}),
			}),
			Effect.flatMap((output) => write(process.stdout, output)),
		),
	).pipe(Command.withDescription(description))

// A group of commands (`tenants`, `dlq`, …). Without a command of the group, its handler shows the group's help.
const group = <Name extends string>(name: Name, description: string) =>
	Command.make(name).pipe(Command.withDescription(description))

// --- [EXPORT]

export {
	CommandTimedOut,
	checked,
	UsageError,
	cursor,
	group,
	json,
	jsonAccepted,
	jsonText,
	leaf,
	limit,
	pageLines,
	rendered,
	resolveTenant,
	table,
	tenantFilter,
	tenantIdOf,
	tenantOption,
	write,
}
