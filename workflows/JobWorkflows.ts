// The runner's side of the job-kind registry: for each kind of JobKinds.ts, the durable workflow that runs it, the
// layer that hosts that workflow, and how a stored job becomes that workflow's payload for one run (the job row's
// correlation fields become the payload's `meta`). Its type requires exactly the kinds of JobKinds.ts, so a kind
// declared on one side only fails the typecheck. The Job entity starts, retries and cancels runs through it, the
// runner hosts every workflow listed here, and the inspector resumes and interrupts executions of them by name.
import type { Workflow, WorkflowEngine } from "@effect/workflow"
import { Effect, Layer, Schema } from "effect"
import type { Job } from "../entities/job/JobModel.ts"
import { HttpCallWorkflow } from "./HttpCallProtocol.ts"
import { HttpCallWorkflowLive } from "./HttpCallWorkflow.ts"
import { JobKind, JobKinds } from "./JobKinds.ts"
import { KeysReencryptWorkflow } from "./KeysReencryptProtocol.ts"
import { KeysReencryptLive } from "./KeysReencryptWorkflow.ts"
import { TenantDeleteWorkflow } from "./TenantDeleteProtocol.ts"
import { TenantDeleteWorkflowLive } from "./TenantDeleteWorkflow.ts"
import { WebhookDeliverWorkflow } from "./WebhookDeliverProtocol.ts"
import { WebhookDeliverWorkflowLive } from "./WebhookDeliverWorkflow.ts"

// --- [TYPES]

type StoredJob = Pick<Job, "appId" | "id" | "type" | "payload" | "requestId" | "ipAddress" | "userAgent">

// Exactly one entry per kind of JobKinds.ts, each under its own name: a kind missing here, or one JobKinds.ts does not
// declare, fails the typecheck.
type RegistryOf<Kinds extends string> = { readonly [Kind in Kinds]: { readonly kind: Kind } }
type JobWorkflowRegistry = RegistryOf<JobKind>

// What the registry needs of a workflow: controlling an execution, and (for a job kind's) starting one run without
// waiting for it.
type Controllable = Pick<
	Workflow.Workflow<string, Workflow.AnyStructSchema, Schema.Schema.Any, Schema.Schema.All>,
	"name" | "interrupt" | "resume"
>
type Startable<Input> = Controllable & {
	readonly executionId: (payload: Input) => Effect.Effect<string>
	readonly execute: (
		payload: Input,
		options: { readonly discard: true },
	) => Effect.Effect<string, never, WorkflowEngine.WorkflowEngine>
}

// --- [FUNCTIONS]

// The fields every job workflow's payload starts with.
const runOf = (job: StoredJob, run: number) => ({
	tenantId: job.appId,
	jobId: job.id,
	run,
	meta: { requestId: job.requestId ?? "unknown", ip: job.ipAddress, userAgent: job.userAgent },
})
type JobRun = ReturnType<typeof runOf>

// One kind's workflow. `payload` builds a run's workflow payload from the run's fields and the job's payload,
// decoded with the kind's schema (a stored payload that no longer decodes is a defect: the gateway accepted it).
const jobWorkflow = <Kind extends JobKind, A, I, Input, RIn>(
	declaration: { readonly kind: Kind; readonly payload: Schema.Schema<A, I> },
	spec: {
		readonly workflow: Startable<Input>
		readonly layer: Layer.Layer<never, never, RIn>
		readonly payload: (run: JobRun, payload: A) => Input
	},
) => ({
	kind: declaration.kind,
	workflow: spec.workflow,
	layer: spec.layer,
	execution: (run: JobRun, stored: unknown) =>
		Schema.decodeUnknown(declaration.payload)(stored).pipe(
			Effect.orDie,
			Effect.map((payload) => spec.payload(run, payload)),
			Effect.flatMap((input) =>
				Effect.map(spec.workflow.executionId(input), (executionId) => ({
					executionId,
					start: Effect.asVoid(spec.workflow.execute(input, { discard: true })),
					interrupt: spec.workflow.interrupt(executionId),
				})),
			),
		),
})

// --- [PROTOCOL]

const JobWorkflows = {
	"http.call": jobWorkflow(JobKinds["http.call"], {
		workflow: HttpCallWorkflow,
		layer: HttpCallWorkflowLive,
		payload: (run, request) => ({ ...run, request }),
	}),
	"tenant.delete": jobWorkflow(JobKinds["tenant.delete"], {
		workflow: TenantDeleteWorkflow,
		layer: TenantDeleteWorkflowLive,
		payload: (run) => run,
	}),
	"webhook.deliver": jobWorkflow(JobKinds["webhook.deliver"], {
		workflow: WebhookDeliverWorkflow,
		layer: WebhookDeliverWorkflowLive,
		payload: (run, delivery) => ({ ...run, delivery }),
	}),
} satisfies JobWorkflowRegistry

// Durable workflows that are not job kinds (started through their own entity, e.g. by the CLI).
const OtherWorkflows = [{ workflow: KeysReencryptWorkflow, layer: KeysReencryptLive }] as const

const registered = [...OtherWorkflows, ...Object.values(JobWorkflows)]
type Hosted = (typeof registered)[number]["layer"]

// Workflows whose executions the inspector may resume or interrupt, by workflow name.
const ControllableWorkflows: ReadonlyMap<string, Controllable> = new Map<string, Controllable>(
	registered.map(({ workflow }) => [workflow.name, workflow]),
)

const isJobKind = Schema.is(JobKind)

// The execution that runs `job`'s run number `run`: its id, and the effects that start and interrupt it.
const executionFor = (job: StoredJob, run: number) =>
	isJobKind(job.type)
		? JobWorkflows[job.type].execution(runOf(job, run), job.payload)
		: Effect.dieMessage(`no workflow runs jobs of type '${job.type}'`)

// Interrupts whatever execution a job of `type` is currently running.
const interruptFor = (type: string, executionId: string) =>
	isJobKind(type) ? JobWorkflows[type].workflow.interrupt(executionId) : Effect.void

// --- [LAYERS]

// Every workflow above, hosted on a runner (`registered` starts with OtherWorkflows, so it is never empty).
const WorkflowsLive = Layer.mergeAll(...(registered.map(({ layer }) => layer) as [Hosted, ...Array<Hosted>]))

// --- [EXPORT]

export { ControllableWorkflows, executionFor, interruptFor, type JobWorkflowRegistry, JobWorkflows, WorkflowsLive }
