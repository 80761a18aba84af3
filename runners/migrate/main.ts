// `npm run migrate`: applies pending migrations and exits 0 (idempotent).
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { migrate } from "../../migrations/Migrator.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoggingLive } from "../../platform/Logging.ts"

migrate.pipe(Effect.provide(DatabaseLive), Effect.provide(LoggingLive), NodeRuntime.runMain)
