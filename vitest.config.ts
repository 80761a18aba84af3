import { defineConfig } from "vitest/config"

export default defineConfig({
	test: {
		include: ["test/**/*.test.ts"],
		testTimeout: 60_000,
		hookTimeout: 120_000,
		pool: "forks",
		reporters: ["default", "json"],
		outputFile: { json: ".vitest-results.json" },
		sequence: { concurrent: false },
		fileParallelism: true,
		maxWorkers: 2,
		minWorkers: 1,
	},
})
