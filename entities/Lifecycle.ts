// The kit every lifecycle entity (Tenant, Job, Session, Socket) is built on: a declared transition table (states are a
// Schema literal union; each operation names the states it leaves from, where it leads and what it audits), the
// audited commit (state change and audit row in one SQL transaction, then the lifecycle's announcement, then the
// answer), and boot-once actors (a Machine booted from its stored state on first use, then reused; one whose commit
// met unavailable storage is dropped, so the next request boots it again from what Postgres really holds).
import { Entity } from "@effect/cluster"
import { Machine } from "@effect/experimental"
import type * as Procedure from "@effect/experimental/Machine/Procedure"
import type { ProcedureList } from "@effect/experimental/Machine/ProcedureList"
import type { SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import {
	Effect,
	Either,
	ExecutionStrategy,
	Exit,
	HashMap,
	Option,
	type Request,
	Schedule,
	Schema,
	Scope,
	SynchronizedRef,
} from "effect"
import { RequestContext, type RequestMeta } from "../platform/RequestContext.ts"
import { orStorageUnavailable, StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { AuditLog, type AuditOperation } from "./AuditLog.ts"
import { InvalidTransition } from "./InvalidTransition.ts"

// --- [TYPES]

// `to: null` keeps the state it left from (a heartbeat, a publish).
type Row<State extends string> = {
	readonly from: ReadonlyArray<State>
	readonly to: State | null
	readonly audit: AuditOperation | null
}

type Table<
	State extends string,
	Operation extends string,
	Rows extends { readonly [Key in Operation]: Row<State> } = { readonly [Key in Operation]: Row<State> },
> = {
	readonly subject: string
	readonly states: ReadonlyArray<State>
	readonly operations: ReadonlyArray<Operation>
	readonly rows: Rows
	// The row of `operation` when it may leave `from`; InvalidTransition for anything the table does not list.
	readonly allow: (from: State, operation: Operation) => Either.Either<Row<State>, InvalidTransition>
	// Where `operation` leads from `from`.
	readonly transition: (from: State, operation: Operation) => Either.Either<State, InvalidTransition>
}

// Who the audit row names; the operation comes from the table's row (or the commit, where it depends on data).
type AuditSubject = Pick<Parameters<typeof AuditLog.record>[0], "appId" | "actor" | "subjectType" | "subjectId">

type Actors<M extends Machine.Machine.Any> = {
	readonly actorOf: <E>(
		key: string,
		input: Machine.Machine.Input<M>,
		stored: Effect.Effect<Machine.Machine.State<M>, E>,
	) => Effect.Effect<Machine.Actor<M>, E>
	readonly forget: (key: string) => Effect.Effect<void>
}

// --- [FUNCTIONS]

// A lifecycle's Machine: `procedures` adds the domain's requests to the list that starts from the stored state (or
// `initial`, when nothing was stored), identified as `<name>/<key>`. Initialisation is traced as
// `<name>Machine.initialize` and, unless `retry` is false (a machine with nothing to load), retried every 200 ms.
const machine =
	<State, Input>(options: {
		readonly name: string
		readonly initial: State
		readonly key: (input: Input) => string
		readonly retry?: boolean
	}) =>
	<Public extends Procedure.TaggedRequest.Any, Private extends Procedure.TaggedRequest.Any, InitErr, R>(
		procedures: (
			input: Input,
			empty: ProcedureList<State, never, never, never>,
		) => Effect.Effect<ProcedureList<State, Public, Private, R>, InitErr, R>,
	) => {
		const made = Machine.makeWith<State, Input>()((input, previous) =>
			procedures(
				input,
				Machine.procedures.make<State>(previous ?? options.initial, {
					identifier: `${options.name}/${options.key(input)}`,
				}),
			).pipe(Telemetry.span(`${options.name}Machine.initialize`)),
		)
		return options.retry === false ? made : made.pipe(Machine.retry(Schedule.spaced("200 millis")))
	}

// This entity instance's address, decoded by `schema` (an address the sharding routed here that does not decode is
// a defect).
const address = <A, I extends string>(schema: Schema.Schema<A, I>) =>
	Effect.flatMap(Entity.CurrentAddress, (current) =>
		Schema.decodeUnknown(schema)(current.entityId).pipe(Effect.orDie),
	)

// The state a stored row boots: `present(row)`, or `absent` when nothing is stored.
const stored = <Row, State, E, R>(
	found: Effect.Effect<Option.Option<Row>, E, R>,
	absent: State,
	present: (row: Row) => State,
) => Effect.map(found, Option.match({ onNone: () => absent, onSome: present }))

const table = <
	const States extends readonly [string, ...Array<string>],
	const Operations extends readonly [string, ...Array<string>],
	const Rows extends { readonly [Key in Operations[number]]: Row<States[number]> },
>(options: {
	readonly subject: string
	readonly states: Schema.Literal<States>
	readonly operations: Schema.Literal<Operations>
	readonly rows: Rows
	readonly verb?: (operation: Operations[number]) => string
}): Table<States[number], Operations[number], Rows> => {
	const verb = options.verb ?? ((operation: string) => operation)
	const rowOf = (operation: Operations[number]): Row<States[number]> => options.rows[operation]
	const allow = (from: States[number], operation: Operations[number]) =>
		rowOf(operation).from.includes(from)
			? Either.right(rowOf(operation))
			: Either.left(
					new InvalidTransition({
						message: `cannot ${verb(operation)} a ${options.subject} that is ${from}`,
						from,
						operation,
					}),
				)
	return {
		subject: options.subject,
		states: options.states.literals,
		operations: options.operations.literals,
		rows: options.rows,
		allow,
		transition: (from, operation) => Either.map(allow(from, operation), (row) => row.to ?? from),
	}
}

// The audited commit, bound to this Postgres: `write` (the state change) and its audit row run in one transaction, so
// a failed audit insert leaves the state as it was; `announce` (telling gateways) runs once that transaction is
// committed, so no one re-reads the old row, and before the caller is answered. A lifecycle without an audit trail
// leaves `audit` out: its single write needs no transaction.
const committer = Effect.map(
	PgClient.PgClient,
	(sql) =>
		<A, E, R>(options: {
			readonly write: Effect.Effect<A, E, R>
			readonly audit?: (value: A) => Option.Option<AuditSubject & { readonly operation: AuditOperation }>
			readonly details?: (value: A) => Record<string, unknown>
			readonly meta: RequestMeta
			readonly announce?: (value: A) => Effect.Effect<void>
		}): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, Exclude<R, PgClient.PgClient>> =>
			Option.match(Option.fromNullable(options.audit), {
				onNone: () => options.write,
				onSome: (audit) =>
					sql.withTransaction(
						options.write.pipe(
							Effect.tap((value) =>
								Option.match(audit(value), {
									onNone: () => Effect.void,
									onSome: (entry) =>
										AuditLog.record({ ...entry, details: options.details?.(value) ?? {} }),
								}),
							),
						),
					),
			}).pipe(
				orStorageUnavailable,
				Effect.tap((value) => options.announce?.(value) ?? Effect.void),
				Effect.provideService(RequestContext, options.meta),
				Effect.provideService(PgClient.PgClient, sql),
			) as Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, Exclude<R, PgClient.PgClient>>,
)

// One audited move by `lifecycle`: where `operation` leads from `from`, stored by `write(next)` together with the
// table row's audit entry about `subject` (one transaction); answers the next state. InvalidTransition writes nothing.
const advance = <State extends string, Operation extends string, E, R>(
	lifecycle: Table<State, Operation>,
	from: State,
	operation: Operation,
	options: {
		readonly write: (next: State) => Effect.Effect<unknown, E, R>
		readonly subject: AuditSubject
		readonly meta: RequestMeta
	},
) =>
	Effect.flatMap(Effect.all([committer, lifecycle.allow(from, operation)]), ([commit, row]) =>
		commit({
			write: Effect.as(options.write(row.to ?? from), row.to ?? from),
			audit: () =>
				Option.map(Option.fromNullable(row.audit), (audited) => ({ ...options.subject, operation: audited })),
			meta: options.meta,
		}),
	)

// Actors of `machine`, one per key, each booted once from `stored` on first use and kept for the entity's lifetime
// (or until forgotten). A request that meets unavailable storage forgets its actor: its commit may have landed or not.
const actors = <M extends Machine.Machine.Any>(machine: M) =>
	Effect.gen(function* () {
		const scope = yield* Effect.scope
		const context = yield* Effect.context<Machine.Machine.Context<M>>()
		const booted = yield* SynchronizedRef.make(
			HashMap.empty<string, { readonly actor: Machine.Actor<M>; readonly scope: Scope.CloseableScope }>(),
		)
		const boot = Machine.boot as (
			machine: M,
			input: Machine.Machine.Input<M>,
			options: { readonly previousState: Machine.Machine.State<M> },
		) => Effect.Effect<Machine.Actor<M>, never, Machine.Machine.Context<M> | Scope.Scope>
		const actorOf = <E>(
			key: string,
			input: Machine.Machine.Input<M>,
			stored: Effect.Effect<Machine.Machine.State<M>, E>,
		) =>
			SynchronizedRef.modifyEffect(booted, (current) =>
				Option.match(HashMap.get(current, key), {
					onSome: (entry) => Effect.succeed([entry.actor, current] as const),
					onNone: () =>
						Effect.all([stored, Scope.fork(scope, ExecutionStrategy.sequential)]).pipe(
							Effect.flatMap(([previousState, own]) =>
								boot(machine, input, { previousState }).pipe(
									Scope.extend(own),
									Effect.provide(context),
									Effect.map(
										(actor) => [actor, HashMap.set(current, key, { actor, scope: own })] as const,
									),
								),
							),
						),
				}),
			)
		const forget = (key: string) =>
			SynchronizedRef.modifyEffect(booted, (current) =>
				Option.match(HashMap.get(current, key), {
					onNone: () => Effect.succeed([undefined, current] as const),
					onSome: (entry) =>
						Scope.close(entry.scope, Exit.void).pipe(
							Effect.as([undefined, HashMap.remove(current, key)] as const),
						),
				}),
			)
		return { actorOf, forget } satisfies Actors<M>
	})

// Sends `request` to the actor of `key`; unavailable storage forgets the actor, so the next request reloads it.
const sendVia =
	<M extends Machine.Machine.Any, E>(
		pool: Actors<M>,
		key: string,
		input: Machine.Machine.Input<M>,
		stored: Effect.Effect<Machine.Machine.State<M>, E>,
	) =>
	<Req extends Machine.Machine.Public<M>>(request: Req) =>
		pool.actorOf(key, input, stored).pipe(
			Effect.flatMap((actor) => actor.send(request)),
			Effect.tapError((error: unknown) =>
				Effect.when(pool.forget(key), () => Schema.is(StorageUnavailable)(error)),
			),
		) as Effect.Effect<Request.Request.Success<Req>, Request.Request.Error<Req> | E>

// The one actor of an entity instance: booted from `stored` on first use, then reused.
const bootOnce = <M extends Machine.Machine.Any, E>(
	machine: M,
	input: Machine.Machine.Input<M>,
	stored: Effect.Effect<Machine.Machine.State<M>, E>,
) =>
	Effect.map(actors(machine), (pool) => ({
		send: sendVia(pool, "", input, stored),
		get: Effect.flatMap(pool.actorOf("", input, stored), (actor) => actor.get),
	}))

// --- [EXPORT]

const Lifecycle = { actors, address, advance, bootOnce, committer, machine, sendVia, stored, table } as const

export { type AuditSubject, Lifecycle, type Row, type Table }
