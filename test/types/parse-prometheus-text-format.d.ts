// The parser ships without types; this is the part of its output the tests read.
declare module "parse-prometheus-text-format" {
	const parsePrometheusTextFormat: (text: string) => Array<{
		readonly name: string
		readonly help: string
		readonly type: string
		readonly metrics: ReadonlyArray<{
			readonly labels?: Readonly<Record<string, string>>
			readonly value?: string
			readonly buckets?: Readonly<Record<string, string>>
			readonly count?: string
			readonly sum?: string
		}>
	}>
	export = parsePrometheusTextFormat
}
