// Decode failures in words a client can act on: the schema library speaks in type signatures (`Expected { readonly
// type: string; … }`, `Expected "queued"` once per member of a union, `Expected undefined` for every optional field).
// Issues of one path are merged into one sentence (`status: must be one of queued, running, …`), and the offending
// value is never echoed: it may be a credential put in the wrong place.
import { Array as Arr, Match, Option, type ParseResult, Schema } from "effect"
import { ValidationError, ValidationIssue } from "./HttpErrors.ts"

// --- [SCHEMA]

type PlainIssue = typeof ValidationIssue.Type

// The schema library's issue as the HttpApi decoder and ArrayFormatter give it (a caller may rebase its path).
type RawIssue = Pick<ParseResult.ArrayFormatterIssue, "path" | "message">

// What one raw message says: a value it would take (`literal`), a kind of value it would take (`alternative`), or a
// rule in words already (`rule`); `Expected undefined` is the optional field's own member and says nothing by itself.
const Reading = Schema.Struct({
	kind: Schema.Literal("literal", "alternative", "rule", "absent"),
	text: Schema.String,
})
type Reading = typeof Reading.Type

// --- [CONSTANTS]

const KindPhrases: Readonly<Record<string, string>> = {
	string: "a string",
	number: "a number",
	boolean: "a boolean",
	Int: "an integer",
	object: "an object",
	null: "null",
	UUID: "a UUID",
}

// --- [FUNCTIONS]

const withoutValue = (message: string) =>
	message
		.replace(/,? actual [\s\S]*$/, "")
		.replace(/Unable to decode "[\s\S]*" into/, "Unable to decode the value into")

const reading = (raw: string): Reading => {
	const message = withoutValue(raw).trim()
	const literal = /^Expected ("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false)$/.exec(message)
	const kind = /^Expected (\w+)$/.exec(message)
	const article = /^Expected (an? [\s\S]+)$/.exec(message)
	const atLeast = /^Expected an array of at least (\d+) item\(s\)$/.exec(message)
	return message === "Expected undefined"
		? { kind: "absent", text: "" }
		: literal !== null
			? { kind: "literal", text: String(literal[1]).replace(/^"([\s\S]*)"$/, "$1") }
			: message === "is missing"
				? { kind: "rule", text: "is required" }
				: /^is unexpected/.test(message)
					? { kind: "rule", text: "is not a known field" }
					: /^Expected \{/.test(message)
						? { kind: "alternative", text: "an object" }
						: /^Expected (ReadonlyArray|Array)</.test(message)
							? { kind: "alternative", text: "an array" }
							: atLeast !== null
								? { kind: "alternative", text: `a non-empty array (at least ${atLeast[1]} item(s))` }
								: kind !== null && KindPhrases[String(kind[1])] !== undefined
									? { kind: "alternative", text: String(KindPhrases[String(kind[1])]) }
									: article !== null
										? { kind: "alternative", text: String(article[1]) }
										: { kind: "rule", text: message }
}

// One sentence for the values and kinds a path would take; rules stay sentences of their own.
const sentences = (readings: ReadonlyArray<Reading>): ReadonlyArray<string> => {
	const literals = readings.flatMap((entry) => (entry.kind === "literal" ? [entry.text] : []))
	const alternatives = Arr.dedupe(readings.flatMap((entry) => (entry.kind === "alternative" ? [entry.text] : [])))
	const rules = Arr.dedupe(readings.flatMap((entry) => (entry.kind === "rule" ? [entry.text] : [])))
	const choices = [
		...Match.value(literals.length).pipe(
			Match.when(0, () => []),
			Match.when(1, () => [String(literals[0])]),
			Match.orElse(() => [`one of ${literals.join(", ")}`]),
		),
		...alternatives,
	]
	const choice = choices.length === 0 ? [] : [`must be ${choices.join(" or ")}`]
	return [...rules, ...choice].length === 0 ? ["must be left out"] : [...rules, ...choice]
}

const plainIssues = (issues: ReadonlyArray<RawIssue>): ReadonlyArray<PlainIssue> => {
	const normalised = issues.map((issue) => ({
		path: issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment))),
		message: issue.message,
	}))
	const paths = Arr.dedupeWith(
		normalised.map((issue) => issue.path),
		(left, right) => left.join("\u0000") === right.join("\u0000"),
	)
	return paths.flatMap((path) =>
		sentences(
			normalised
				.filter((issue) => issue.path.join("\u0000") === path.join("\u0000"))
				.map((issue) => reading(issue.message)),
		).map((message) => ({ path, message })),
	)
}

// A ValidationError whose message is its first issue, `path: sentence` (`request` for the whole body).
const validationError = (issues: ReadonlyArray<RawIssue>, fallback: string) => {
	const plain = plainIssues(issues)
	return new ValidationError({
		message: Option.match(Arr.head(plain), {
			onNone: () => fallback,
			onSome: (first) => `${first.path.length === 0 ? "request" : first.path.join(".")}: ${first.message}`,
		}),
		issues: plain,
	})
}

// --- [EXPORT]

export { plainIssues, validationError }
