// `npm run migrate`: applies pending migrations and exits 0 (idempotent). A database that cannot be reached or does
// not exist ends with one line saying what to do.
import { Effect } from "effect"
import { migrate } from "../../migrations/Migrator.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoggingLive } from "../../platform/Logging.ts"
import { Startup } from "../../platform/Startup.ts"

migrate.pipe(Effect.provide(DatabaseLive), Effect.provide(LoggingLive), Startup.runMain("migrate"))
