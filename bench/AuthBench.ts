// Authentication on the hot path, per tier of the credential cache: `GET /v1/auth/whoami` with a session token (the
// answer comes from the principal the middleware resolved, no further entity call) against `GET /v1/tenant` (the same
// stack, X-App-Id only) on the same gateway. Warm: the stack's gateway with its in-process tier; Redis tier: a gateway
// with SESSION_MEMORY_TTL=0 (every request reads Redis); cold: SESSION_MEMORY_TTL=0 and SESSION_CACHE_TTL=0 (every
// request asks the CredentialDirectory entity, which reads Postgres). Each gateway gets its own sessions, one per load
// worker, so neither a shared Redis entry nor the cache's in-flight deduplication answers for another request.
// Fixture only: the users and sessions are inserted straight into Postgres (no OAuth provider here); the measured
// path is the real gateway → cache → entity → Postgres.
import { randomUUID } from "node:crypto"
import { Redacted } from "effect"
import { Redis } from "ioredis"
import pg from "pg"
import { SessionTokenPrefix } from "../entities/identity/IdentityModel.ts"
import { SecretToken } from "../platform/SecretToken.ts"
import { BenchSettings, interleave, type LoopResult, ratioLine, selected, sleep } from "./Harness.ts"
import { httpDetails, load, type Target, WarmupMs } from "./HttpBench.ts"
import { type Managed, stop } from "./Processes.ts"

// --- [CONSTANTS]

// PostgreSQL 15 publishes a busy backend's table counters at most once a second and an idle one's after 10 s.
const StatsSettleMs = 11_000
const StopGraceMs = 10_000

// `env`: settings of a gateway of its own; none → the stack's gateway (default TTLs: 30 s memory, 5 min Redis).
const Tiers: ReadonlyArray<{
	readonly name: string
	readonly env?: Record<string, string>
	readonly target?: number
}> = [
	{ name: "auth.warm-vs-unauthenticated", target: 0.95 },
	{ name: "auth.redis-tier-vs-unauthenticated", env: { SESSION_MEMORY_TTL: "0 millis" } },
	{
		name: "auth.cold-vs-unauthenticated",
		env: { SESSION_MEMORY_TTL: "0 millis", SESSION_CACHE_TTL: "0 millis" },
	},
]

// --- [FUNCTIONS]

// One active user with one active session per token; returns the plaintext tokens.
const createSessions = async (client: pg.Client, appId: string, count: number) => {
	const minted = Array.from({ length: count }, () => SecretToken.mint(SessionTokenPrefix))
	const userIds = minted.map(() => randomUUID())
	await client.query(
		`INSERT INTO users (id, app_id, display_name, status)
		SELECT id, $2, 'bench user', 'active' FROM unnest($1::uuid[]) AS t(id)`,
		[userIds, appId],
	)
	await client.query(
		`INSERT INTO sessions (id, app_id, user_id, token_hash, status, expires_at, last_used_at)
		SELECT id, $1, user_id, token_hash, 'active', now() + interval '1 year', now()
		FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS t(id, user_id, token_hash)`,
		[appId, minted.map(() => randomUUID()), userIds, minted.map((token) => token.hash)],
	)
	return minted.map((token) => Redacted.value(token.token))
}

// Reads of the sessions table (the CredentialDirectory's lookups, plus the gateways' last-use batch every 5 s).
const sessionReads = (client: pg.Client) =>
	client
		.query<{ reads: string }>(
			"SELECT seq_scan + coalesce(idx_scan, 0) AS reads FROM pg_stat_user_tables WHERE relname = 'sessions'",
		)
		.then((result) => Number(result.rows[0]?.reads ?? Number.NaN))

// Machine-wide Redis counters: other clients of the same Redis add to them, so they are upper bounds.
const redisCounters = async (redis: Redis) => {
	const info = `${await redis.info("commandstats")}\n${await redis.info("stats")}`
	const field = (pattern: RegExp) => Number(pattern.exec(info)?.[1] ?? 0)
	return {
		gets: field(/^cmdstat_get:calls=(\d+)/m),
		hits: field(/^keyspace_hits:(\d+)/m),
		misses: field(/^keyspace_misses:(\d+)/m),
	} as const
}
type RedisCounters = Awaited<ReturnType<typeof redisCounters>>

const counted = async (redis: Redis, run: () => Promise<LoopResult>) => {
	const before = await redisCounters(redis)
	const result = await run()
	const after = await redisCounters(redis)
	return {
		result,
		redis: { gets: after.gets - before.gets, hits: after.hits - before.hits, misses: after.misses - before.misses },
	} as const
}
type Counted = Awaited<ReturnType<typeof counted>>

const requestsOf = (results: ReadonlyArray<LoopResult>) =>
	results.reduce((total, result) => total + result.ok + result.failed, 0)

const perRequest = (count: number, requests: number) => (requests === 0 ? "n/a" : (count / requests).toFixed(3))

const redisText = (arms: ReadonlyArray<Counted>) => {
	const requests = requestsOf(arms.map((arm) => arm.result))
	const sum = (pick: (counters: RedisCounters) => number) =>
		perRequest(
			arms.reduce((total, arm) => total + pick(arm.redis), 0),
			requests,
		)
	return `GET ${sum((counters) => counters.gets)} (hit ${sum((counters) => counters.hits)}, miss ${sum((counters) => counters.misses)})`
}

// The gateway must accept the token as a session and refuse an unknown one, or the numbers would mean nothing.
const preflight = async (url: string, tenantHeaders: Record<string, string>, token: string) => {
	const accepted = await fetch(`${url}/v1/auth/whoami`, {
		headers: { ...tenantHeaders, authorization: `Bearer ${token}` },
	})
	const body = await accepted.text()
	const refused = await fetch(`${url}/v1/auth/whoami`, {
		headers: { ...tenantHeaders, authorization: `Bearer ${SessionTokenPrefix}${"A".repeat(43)}` },
	})
	await refused.text()
	return accepted.status === 200 && body.includes('"kind":"session"') && refused.status === 401
		? undefined
		: Promise.reject(
				new Error(
					`${url}/v1/auth/whoami: valid token → ${accepted.status} ${body.slice(0, 200)}, ` +
						`unknown token → ${refused.status}`,
				),
			)
}

// Warm-up and interleaved rounds of one tier; Redis counters per arm.
const measure = async (redis: Redis, subject: Target, baseline: Target) => {
	const warmup = await load(subject, WarmupMs)
	await load(baseline, WarmupMs)
	const [subjectArms = [], baselineArms = []] = await interleave(BenchSettings.rounds, [
		{ name: "subject", run: () => counted(redis, () => load(subject, BenchSettings.httpDurationMs)) },
		{ name: "baseline", run: () => counted(redis, () => load(baseline, BenchSettings.httpDurationMs)) },
	])
	return { warmup, subjectArms, baselineArms }
}

// Returns one line per selected tier. The stack's gateway serves the warm tier; the others get gateways of their own
// (started here in parallel, stopped before returning).
const authBench = async (options: {
	readonly databaseUrl: string
	readonly redisUrl: string
	readonly slug: string
	readonly tenantHeaders: Record<string, string>
	readonly gatewayUrl: string
	readonly startGateway: (
		name: string,
		env: Record<string, string>,
	) => Promise<{ readonly url: string; readonly managed?: Managed }>
}) => {
	type Gateway = Awaited<ReturnType<typeof options.startGateway>>
	const tiers = Tiers.filter((tier) => selected(tier.name))
	const client = new pg.Client({ connectionString: options.databaseUrl })
	const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 })
	const gateways: Array<Gateway> = []
	const run = async () => {
		await client.connect()
		const started = await Promise.all(
			tiers.map((tier) =>
				tier.env === undefined
					? Promise.resolve<Gateway>({ url: options.gatewayUrl })
					: options.startGateway(tier.name.replace(/-vs-.*$/, ""), tier.env).then((gateway) => {
							gateways.push(gateway)
							return gateway
						}),
			),
		)
		const app = await client.query<{ id: string }>("SELECT id FROM apps WHERE slug = $1", [options.slug])
		const appId = app.rows[0]?.id ?? ""
		const perTier = BenchSettings.httpConnections
		const minted = await createSessions(client, appId, tiers.length * perTier)
		const tokens = tiers.map((_, index) => minted.slice(index * perTier, (index + 1) * perTier))
		await Promise.all(
			started.map((gateway, index) => preflight(gateway.url, options.tenantHeaders, tokens[index]?.[0] ?? "")),
		)
		// Sessions-table reads before each tier; the last tier's end is read after the counters settled.
		const measured: Array<{ readonly readsBefore: number; readonly result: Awaited<ReturnType<typeof measure>> }> =
			[]
		for (const [index, gateway] of started.entries()) {
			const readsBefore = await sessionReads(client)
			const subject: Target = {
				url: `${gateway.url}/v1/auth/whoami`,
				workerHeaders: (tokens[index] ?? []).map((token) => ({
					...options.tenantHeaders,
					authorization: `Bearer ${token}`,
				})),
			}
			const baseline: Target = { url: `${gateway.url}/v1/tenant`, headers: options.tenantHeaders }
			measured.push({ readsBefore, result: await measure(redis, subject, baseline) })
		}
		console.error(`auth bench: waiting ${StatsSettleMs / 1000} s for Postgres table counters`)
		await sleep(StatsSettleMs)
		const readsEnd = await sessionReads(client)
		return tiers.map((tier, index) => {
			const entry = measured[index]
			const subjectArms = entry?.result.subjectArms ?? []
			const baselineArms = entry?.result.baselineArms ?? []
			const subject = subjectArms.map((arm) => arm.result)
			const baseline = baselineArms.map((arm) => arm.result)
			const requests = requestsOf(entry === undefined ? subject : [entry.result.warmup, ...subject])
			const reads = (measured[index + 1]?.readsBefore ?? readsEnd) - (entry?.readsBefore ?? Number.NaN)
			return ratioLine({
				name: tier.name,
				unit: "req/s",
				subject: subject.map((result) => result.rate),
				baseline: baseline.map((result) => result.rate),
				...(tier.target === undefined ? {} : { target: tier.target }),
				extra:
					`[${httpDetails(subject, baseline)}; sessions reads/req ${perRequest(reads, requests)} ` +
					`(${reads} for ${requests} authenticated); Redis/req subject ${redisText(subjectArms)}, ` +
					`baseline ${redisText(baselineArms)}]`,
			})
		})
	}
	return run().finally(() =>
		Promise.all([
			client.end().catch(() => undefined),
			Promise.resolve(redis.disconnect()),
			...gateways.map((gateway) =>
				gateway.managed === undefined ? Promise.resolve(null) : stop(gateway.managed, "SIGTERM", StopGraceMs),
			),
		]),
	)
}

// --- [EXPORT]

export { authBench, createSessions }
