// Which durable workflow runs each job type, and how a stored job becomes that workflow's payload for one run (the
// job row's correlation fields become the payload's `meta`). Used by the Job entity to start, retry and cancel runs.
import { Effect, Match, Schema } from "effect"
import type { Job } from "../entities/job/JobModel.ts"
import { HttpCallWorkflow } from "./HttpCallProtocol.ts"
import { HttpCallPayload } from "./JobKinds.ts"
import { TenantDeleteWorkflow } from "./TenantDeleteProtocol.ts"

// --- [FUNCTIONS]

const executionFor = (
	job: Pick<Job, "appId" | "id" | "type" | "payload" | "requestId" | "ipAddress" | "userAgent">,
	run: number,
) => {
	const base = {
		tenantId: job.appId,
		jobId: job.id,
		run,
		meta: { requestId: job.requestId ?? "unknown", ip: job.ipAddress, userAgent: job.userAgent },
	}
	return Match.value(job.type).pipe(
		Match.when("http.call", () =>
			Schema.decodeUnknown(HttpCallPayload)(job.payload).pipe(
				Effect.orDie,
				Effect.flatMap((request) =>
					Effect.map(HttpCallWorkflow.executionId({ ...base, request }), (executionId) => ({
						executionId,
						start: Effect.asVoid(HttpCallWorkflow.execute({ ...base, request }, { discard: true })),
						interrupt: HttpCallWorkflow.interrupt(executionId),
					})),
				),
			),
		),
		Match.when("tenant.delete", () =>
			Effect.map(TenantDeleteWorkflow.executionId(base), (executionId) => ({
				executionId,
				start: Effect.asVoid(TenantDeleteWorkflow.execute(base, { discard: true })),
				interrupt: TenantDeleteWorkflow.interrupt(executionId),
			})),
		),
		Match.orElse((type) => Effect.dieMessage(`no workflow runs jobs of type '${type}'`)),
	)
}

// Interrupts whatever execution a job of `type` is currently running.
const interruptFor = (type: string, executionId: string) =>
	Match.value(type).pipe(
		Match.when("http.call", () => HttpCallWorkflow.interrupt(executionId)),
		Match.when("tenant.delete", () => TenantDeleteWorkflow.interrupt(executionId)),
		Match.orElse(() => Effect.void),
	)

// --- [EXPORT]

export { executionFor, interruptFor }
