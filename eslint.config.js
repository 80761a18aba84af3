// The seed's FORBIDDEN list as lint errors. Every selector below names the construct it forbids; the
// `forbidden` plugin covers what a selector cannot see (file names).
import tseslint from "typescript-eslint"

// The seed: module-level type definitions are derived from schemas (`type X = typeof X.Type`) or from the value that
// produces them (`ReturnType<typeof make>`, `Effect.Effect.Success<typeof x>`), or inlined where they are used.
const moduleTypes = [
	{
		selector: ":matches(Program, Program > ExportNamedDeclaration) > TSInterfaceDeclaration",
		message: "No module-level interfaces: derive the type from a Schema (`typeof X.Type`) or inline it where used.",
	},
	{
		// A hand-written shape anywhere in a module-level alias: an object type, mapped type, function or tuple type,
		// or a literal type (a literal union belongs in Schema.Literal). Literals that pick from a derived type
		// (`X["field"]`, `Pick<X, "path">`) are derived too. A generic alias is a type-level function (a kit's
		// contract over its caller's types, e.g. a transition-table row over the caller's states): no Schema can
		// produce it, so it is allowed.
		selector:
			":matches(Program, Program > ExportNamedDeclaration) > TSTypeAliasDeclaration:not([typeParameters]):has(TSTypeLiteral, TSMappedType, TSFunctionType, TSConstructorType, TSTupleType, TSTemplateLiteralType, TSLiteralType:not(TSIndexedAccessType > .indexType, TSTypeParameterInstantiation *))",
		message:
			"No hand-written module-level types: derive from a Schema (`typeof X.Type`) or from the value that produces it (`ReturnType<typeof make>`), or inline it where used.",
	},
]

const forbiddenSyntax = [
	{ selector: "IfStatement", message: "No `if`: use a ternary, Match, Option.match or Effect control flow." },
	{ selector: "VariableDeclaration[kind='let']", message: "No `let`: use const, Ref or the Machine's state." },
	{ selector: "VariableDeclaration[kind='var']", message: "No `var`: use const." },
	{ selector: "ForStatement", message: "No `for`: use map/filter or Effect.forEach." },
	{ selector: "ForInStatement", message: "No `for…in`: use Record/Object helpers." },
	{ selector: "ForOfStatement", message: "No `for…of`: use map/filter or Effect.forEach." },
	{ selector: "WhileStatement", message: "No `while`: use Effect.repeat / Schedule." },
	{ selector: "DoWhileStatement", message: "No `do…while`: use Effect.repeat / Schedule." },
	{ selector: "TryStatement", message: "No `try`: use the Effect error channel (Effect.try / tryPromise)." },
	{ selector: "ExportDefaultDeclaration", message: "No default exports: export by name at the end of the file." },
	{
		selector: "ExportNamedDeclaration[declaration!=null]",
		message: "No inline exports: declare first, then one `export { … }` at the end of the file.",
	},
	{
		selector: "MemberExpression[object.name='process'][property.name='env']",
		message: "No process.env: read configuration through Effect Config.",
	},
	{
		selector: "MemberExpression[object.name='JSON'][property.name=/^(stringify|parse)$/]",
		message: "No JSON.stringify/parse: use Schema.encode / Schema.decode (Schema.parseJson).",
	},
	{
		selector: "MemberExpression[object.name='Object'][property.name='freeze']",
		message: "No Object.freeze: use `as const`.",
	},
	{
		selector: "MemberExpression[object.name='Boolean'][property.name='match']",
		message: "No Boolean.match: use a ternary.",
	},
	{
		selector: "ImportSpecifier[imported.name='Function'][local.name!='Function']",
		message: "Do not alias `Function` on import: inline the usage.",
	},
	{
		// The seed: no 1–3 letter abbreviations for parameters. Two letters and fewer are checked (`id` and `ip` are
		// words here); `_`-prefixed unused parameters are fine.
		selector: ":function > Identifier.params[name=/^(?!id$|ip$)[A-Za-z]{1,2}$/]",
		message: "No 1–2 letter parameter names: name what it is (`tenant`, `error`, `left`/`right`).",
	},
	{
		selector: "BinaryExpression[operator=/^[!=]==?$/] > MemberExpression.left[property.name='_tag']",
		message: "No manual `_tag` checks: use Effect.catchTag, Match.tag or a type guard from the library.",
	},
	{
		selector: "BinaryExpression[operator=/^[!=]==?$/] > MemberExpression.right[property.name='_tag']",
		message: "No manual `_tag` checks: use Effect.catchTag, Match.tag or a type guard from the library.",
	},
	...moduleTypes,
]

const forbiddenPlugin = {
	rules: {
		"no-index-file": {
			meta: {
				type: "problem",
				schema: [],
				messages: { barrel: "No barrel files: name the file after its export." },
			},
			create: (context) => ({
				Program: (node) =>
					/(^|[\\/])index\.[cm]?[jt]sx?$/.test(context.filename)
						? context.report({ node, messageId: "barrel" })
						: undefined,
			}),
		},
	},
}

// Folder boundaries (README "Architecture"): each entry is an import a folder may not make.
const boundary = (...patterns) => ["error", { patterns }]
const noRunners = {
	regex: "^(\\.\\./)+runners/",
	message: "Only entrypoints (runners/*/main.ts, bench/) import runners/: move what you need into platform/.",
}
const noGateway = {
	regex: "^(\\.\\./)+gateway/",
	message: "entities/, workflows/ and migrations/ never import the gateway (it calls them, not the other way).",
}
const boundaries = [
	{
		files: ["platform/**/*.ts"],
		rules: {
			"no-restricted-imports": boundary({
				regex: "^(\\.\\./)+(entities|workflows|gateway|runners|migrations)/",
				message:
					"platform/ imports nothing of the domain: pass domain values in, or move the file to its domain.",
			}),
		},
	},
	{
		files: ["gateway/**/*.ts"],
		rules: {
			"no-restricted-imports": boundary(noRunners, {
				// Protocol, model and error files, and the shared ids/pagination/job-kind schemas and URL policy.
				regex: "^(\\.\\./)+(entities|workflows)/(?!(\\w+/)?\\w+(Protocol|Model)\\.ts$|(Tenancy|InvalidTransition|KeysetPage|JobKinds|Destination)\\.ts$)",
				message:
					"The gateway imports only protocol, model and error files of entities/ and workflows/, never a repo or a handler (their SQL must not load in the gateway).",
			}),
		},
	},
	{
		files: ["entities/**/*.ts", "workflows/**/*.ts"],
		rules: { "no-restricted-imports": boundary(noRunners, noGateway) },
	},
	{
		files: ["migrations/**/*.ts"],
		rules: { "no-restricted-imports": boundary(noRunners, noGateway) },
	},
	{
		files: ["migrations/[0-9]*.ts"],
		rules: {
			"no-restricted-imports": boundary(noRunners, noGateway, {
				regex: "^(\\.\\./)+(entities|workflows|platform)/",
				message: "Applied migrations are frozen: write values literally instead of importing today's lists.",
			}),
		},
	},
]

// The forbidden list minus what a client driving the system from outside needs (see the test/bench override).
const outsideIn = forbiddenSyntax.filter(
	(rule) =>
		![
			"VariableDeclaration[kind='let']",
			"ForOfStatement",
			"WhileStatement",
			"MemberExpression[object.name='process'][property.name='env']",
			":function > Identifier.params[name=/^(?!id$|ip$)[A-Za-z]{1,2}$/]",
		].includes(rule.selector),
)

const config = tseslint.config(
	{ ignores: ["node_modules/**", ".data/**", "dist/**", "eslint.config.js"] },
	{
		files: ["**/*.ts"],
		extends: [tseslint.configs.base],
		plugins: { forbidden: forbiddenPlugin },
		rules: {
			"no-restricted-syntax": ["error", ...forbiddenSyntax],
			"no-restricted-globals": [
				"error",
				{ name: "fetch", message: "No raw fetch(): use HttpClient from @effect/platform." },
			],
			"@typescript-eslint/no-explicit-any": "error",
			"forbidden/no-index-file": "error",
		},
	},
	...boundaries,
	{
		// Tool configs may default-export (the seed exempts *.config.ts).
		files: ["*.config.ts"],
		rules: {
			"no-restricted-syntax": [
				"error",
				...forbiddenSyntax.filter((rule) => rule.selector !== "ExportDefaultDeclaration"),
			],
		},
	},
	{
		// Tests and benchmarks drive real processes and sockets from the outside, as a client would. Loosened here
		// only: `let` for handles assigned in beforeAll/afterAll, `for…of`/`while` for request tables and polling,
		// the global `fetch` (a black-box HTTP client), and `process.env` to hand PATH/HOME to spawned processes.
		// Everything else in the forbidden list still applies.
		files: ["test/**/*.ts", "bench/**/*.ts"],
		rules: { "no-restricted-syntax": ["error", ...outsideIn], "no-restricted-globals": "off" },
	},
	{
		// Tests also describe the shapes they read off the wire (HTTP bodies, frames, fixture configs) by hand: those
		// are the client's view, deliberately not derived from the server's schemas.
		files: ["test/**/*.ts"],
		rules: {
			"no-restricted-syntax": ["error", ...outsideIn.filter((rule) => !moduleTypes.includes(rule))],
		},
	},
)

export default config
