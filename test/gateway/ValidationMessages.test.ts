// Decode issues of real schemas become one plain sentence per path, without the offending value.
import { Either, ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { plainIssues } from "../../gateway/ValidationMessages.ts"

const issuesOf = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
	plainIssues(
		ParseResult.ArrayFormatter.formatErrorSync(
			Either.getOrThrow(Either.flip(Schema.decodeUnknownEither(schema, { errors: "all" })(input))),
		),
	)

describe("plainIssues", () => {
	it("merges the members of a literal union and drops the optional field's `Expected undefined`", () => {
		const Params = Schema.Struct({ status: Schema.optional(Schema.Literal("queued", "running")) })
		expect(issuesOf(Params, { status: "bogus" })).toEqual([
			{ path: ["status"], message: "must be one of queued, running" },
		])
	})

	it("says which kind of value a field needs instead of a type signature, and never echoes the value", () => {
		const Body = Schema.Union(
			Schema.Struct({ name: Schema.String }),
			Schema.Array(Schema.String).pipe(Schema.minItems(1)),
		)
		expect(issuesOf(Body, [])).toEqual([
			{ path: [], message: "must be an object or a non-empty array (at least 1 item(s))" },
		])
		const Named = Schema.Struct({ name: Schema.String, count: Schema.optional(Schema.Number) })
		expect(issuesOf(Named, { count: "hunter2" })).toEqual([
			{ path: ["name"], message: "is required" },
			{ path: ["count"], message: "must be a number" },
		])
	})

	it("keeps a schema's own message and reports an unknown field in words", () => {
		const Slug = Schema.String.pipe(Schema.pattern(/^[a-z]+$/, { message: () => "slug must be lowercase letters" }))
		expect(issuesOf(Schema.Struct({ slug: Slug }), { slug: "A!" })).toEqual([
			{ path: ["slug"], message: "slug must be lowercase letters" },
		])
		const Strict = Schema.Struct({ name: Schema.String })
		const strict = ParseResult.ArrayFormatter.formatErrorSync(
			Either.getOrThrow(
				Either.flip(Schema.decodeUnknownEither(Strict, { onExcessProperty: "error" })({ name: "x", extra: 1 })),
			),
		)
		expect(plainIssues(strict)).toEqual([{ path: ["extra"], message: "is not a known field" }])
	})
})
