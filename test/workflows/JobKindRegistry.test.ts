// The job-kind registry's two halves list the same kinds: JobKinds.ts (payload schemas and policies, read by the
// gateway) and JobWorkflows.ts (the workflow and layer that run each kind, on the runner). Adding a kind to one side
// only fails the typecheck (proven below with @ts-expect-error) and these assertions. Also: what the gateway derives
// from the registry (the submittable kinds, a payload's stored form and destination) and what the runner derives
// (the controllable workflows, the execution of a stored job, the DLQ auto-retry reasons).
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema } from "effect"
import { DlqReasons, JobId } from "../../entities/job/JobModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { JobKind, JobKinds, SubmittableJobType } from "../../workflows/JobKinds.ts"
import {
	ControllableWorkflows,
	executionFor,
	type JobWorkflowRegistry,
	JobWorkflows,
} from "../../workflows/JobWorkflows.ts"

// --- [CONSTANTS]

const job = {
	appId: Schema.decodeSync(TenantId)("6f1c2a52-0d7e-4b8e-9a57-3f2f5a0b9c11"),
	id: Schema.decodeSync(JobId)("0b7e3a7c-5b0e-4a4f-8d55-2f7f6b1f2e3d"),
	requestId: "req-1",
	ipAddress: null,
	userAgent: null,
}

const hook = { url: "https://example.com/hook", method: "POST", headers: {} }

// --- [SUITE]

describe("job-kind registry", () => {
	it("both halves list the same kinds, each under its own name", () => {
		// @ts-expect-error a runner registry that lacks a declared kind does not typecheck
		const missing: JobWorkflowRegistry = { "http.call": JobWorkflows["http.call"] }
		const extra: JobWorkflowRegistry = {
			...JobWorkflows,
			// @ts-expect-error nor does one with a kind JobKinds.ts does not declare
			"mail.send": { kind: "mail.send" },
		}
		const swapped: JobWorkflowRegistry = {
			// @ts-expect-error nor one that files a kind's workflow under another kind's name
			"http.call": JobWorkflows["tenant.delete"],
			"tenant.delete": JobWorkflows["tenant.delete"],
		}
		expect([missing, extra, swapped].map((registry) => Object.keys(registry).length)).toEqual([1, 4, 2])
		expect(Object.keys(JobWorkflows).sort()).toEqual([...JobKind.literals].sort())
		expect(Object.keys(JobKinds).sort()).toEqual([...JobKind.literals].sort())
		for (const kind of JobKind.literals) {
			expect(JobKinds[kind].kind).toBe(kind)
			expect(JobWorkflows[kind].kind).toBe(kind)
		}
	})

	it("tenants may submit http.call only; tenant.delete is internal", () => {
		expect(SubmittableJobType.literals).toEqual(["http.call"])
		expect(JobKinds["tenant.delete"].submittable).toBeNull()
		expect(JobKinds["http.call"].submittable.sessionSetting).toBe("allowUserHttpCalls")
	})

	it.effect("a submitted http.call payload is stored with its defaults and names its destination", () =>
		Effect.gen(function* () {
			const accepted = yield* JobKinds["http.call"].accept({ url: "https://example.com/hook" })
			expect(accepted).toEqual({
				stored: { url: "https://example.com/hook", method: "POST", headers: {} },
				destination: "https://example.com/hook",
			})
			const refused = yield* Effect.exit(JobKinds["http.call"].accept({ url: "", method: "TRACE" }))
			expect(Exit.isFailure(refused)).toBe(true)
		}),
	)

	it("every DLQ auto-retry reason is a DLQ reason", () => {
		for (const kind of JobKind.literals) {
			expect(DlqReasons).toEqual(expect.arrayContaining([...JobKinds[kind].dlqAutoRetry]))
		}
	})

	it("the inspector controls every job kind's workflow and keys.reencrypt's, by workflow name", () => {
		expect([...ControllableWorkflows.keys()].sort()).toEqual([
			"HttpCall",
			"KeysReencrypt",
			"TenantDelete",
			"WebhookDeliver",
		])
	})

	it.effect("a stored job becomes its kind's execution; an unknown type is a defect", () =>
		Effect.gen(function* () {
			const http = yield* executionFor({ ...job, type: "http.call", payload: hook }, 0)
			expect(http.executionId).toEqual(expect.any(String))
			const again = yield* executionFor({ ...job, type: "http.call", payload: hook }, 0)
			expect(again.executionId).toBe(http.executionId)
			const nextRun = yield* executionFor({ ...job, type: "http.call", payload: hook }, 1)
			expect(nextRun.executionId).not.toBe(http.executionId)
			const deletion = yield* executionFor({ ...job, type: "tenant.delete", payload: {} }, 0)
			expect(deletion.executionId).not.toBe(http.executionId)
			const unknown = yield* Effect.exit(executionFor({ ...job, type: "mail.send", payload: {} }, 0))
			expect(Exit.isFailure(unknown) && Cause.isDie(unknown.cause)).toBe(true)
		}),
	)
})
