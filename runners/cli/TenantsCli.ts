// `tenants …`: list, create, show, suspend and activate tenants through the Tenant entities, and clear a tenant's
// sign-in failures in the gateways' Redis. Wherever a tenant is named, its id or its slug is accepted.
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Schema } from "effect"
import { isIP } from "node:net"
import { TenantName, TenantSlug } from "../../entities/tenant/TenantModel.ts"
import {
	CreateTenant,
	Tenant,
	TenantDirectory,
	TenantPage,
	TenantView,
	TransitionTenant,
} from "../../entities/tenant/TenantProtocol.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { LoginLimiter } from "../../gateway/identity/LoginLimiter.ts"
import { CacheLive } from "../../platform/RedisCache.ts"
import {
	checked,
	cursor,
	group,
	json,
	jsonAccepted,
	jsonText,
	leaf,
	limit,
	rendered,
	pageLines,
	resolveTenant,
	table,
	tenantIdOf,
} from "./CliCommand.ts"

// --- [CONSTANTS]

const tenantArg = Args.text({ name: "id|slug" }).pipe(Args.withDescription("the tenant's id or slug"))

// --- [FUNCTIONS]

const renderTenant = (asJson: boolean) =>
	rendered(TenantView, asJson, (encoded) =>
		table([
			["id:", encoded.id],
			["slug:", encoded.slug],
			["name:", encoded.name],
			["status:", encoded.status],
			["settings:", jsonText(encoded.settings)],
			["created:", encoded.createdAt],
			["updated:", encoded.updatedAt],
		]),
	)

const list = leaf("list", "tenants, oldest first", { json, limit: limit("tenants per page"), cursor }, (args) =>
	TenantDirectory.client.pipe(
		Effect.flatMap((directory) =>
			directory("list").List({ limit: args.limit, cursor: Option.getOrNull(args.cursor) }),
		),
		Effect.flatMap(
			rendered(TenantPage, args.json, (encoded) =>
				pageLines(
					"no tenants",
					[
						["ID", "SLUG", "NAME", "STATUS", "CREATED"],
						...encoded.items.map((tenant) => [
							tenant.id,
							tenant.slug,
							tenant.name,
							tenant.status,
							tenant.createdAt,
						]),
					],
					encoded.nextCursor,
					"tenants list",
				),
			),
		),
	),
)

const create = leaf(
	"create",
	"create a tenant; answers once it is active",
	{
		slug: Args.text({ name: "slug" }).pipe(
			Args.withSchema(TenantSlug),
			Args.withDescription("3–63 characters of lowercase letters, digits and '-'"),
		),
		name: Args.text({ name: "name" }).pipe(Args.withSchema(TenantName), Args.withDescription("display name")),
		json,
	},
	(args) =>
		Tenant.client.pipe(
			Effect.flatMap((tenants) =>
				tenants(crypto.randomUUID()).Create(
					new CreateTenant({ requestKey: crypto.randomUUID(), slug: args.slug, name: args.name }),
				),
			),
			Effect.flatMap(renderTenant(args.json)),
		),
)

const show = leaf("show", "one tenant", { tenant: tenantArg, json }, (args) =>
	Schema.decodeUnknown(TenantId)(args.tenant).pipe(
		Effect.matchEffect({
			onFailure: () => resolveTenant(args.tenant),
			onSuccess: (tenantId) => Tenant.client.pipe(Effect.flatMap((tenants) => tenants(tenantId).Get())),
		}),
		Effect.flatMap(renderTenant(args.json)),
	),
)

const transition = (operation: "suspend" | "activate", description: string) =>
	leaf(operation, description, { tenant: tenantArg, json }, (args) =>
		tenantIdOf(args.tenant).pipe(
			Effect.zip(Tenant.client),
			Effect.flatMap(([tenantId, tenants]) =>
				tenants(tenantId).Transition(new TransitionTenant({ requestKey: crypto.randomUUID(), operation })),
			),
			Effect.flatMap(renderTenant(args.json)),
		),
	)

const clearLoginFailures = leaf(
	"clear-login-failures",
	"unblock sign-ins: the client group of --ip, or every one that failed at the tenant (needs the gateways' REDIS_URL / REDIS_KEY_PREFIX)",
	{
		tenant: tenantArg,
		ip: Options.text("ip").pipe(
			Options.withSchema(
				checked(
					Schema.String.pipe(Schema.filter((address) => isIP(address) !== 0)),
					"--ip must be an IPv4 or IPv6 address",
				),
			),
			Options.optional,
			Options.withDescription("only the client group of this address"),
		),
		json: jsonAccepted("text"),
	},
	(args) =>
		tenantIdOf(args.tenant).pipe(
			Effect.flatMap((tenantId) =>
				LoginLimiter.clear(tenantId, Option.getOrNull(args.ip)).pipe(
					Effect.provide(CacheLive),
					Effect.map(
						(cleared) =>
							`login failures cleared for tenant ${tenantId}: ${cleared.clientGroups} client group(s)`,
					),
				),
			),
		),
)

const TenantsCli = group("tenants", "create, inspect, suspend and activate tenants").pipe(
	Command.withSubcommands([
		list,
		create,
		show,
		transition("suspend", "active → suspended"),
		transition("activate", "suspended → active"),
		clearLoginFailures,
	]),
)

// --- [EXPORT]

export { TenantsCli }
