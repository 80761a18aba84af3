// A cached lookup that several callers may be waiting on at once. effect's `Cache` runs a lookup in the fiber of its
// first caller and, when that fiber is interrupted, fails every caller joined to it with that interruption: a
// realtime socket's expiry check, replaced by a newer check of the same credential, took the newer one down with it
// and the socket never closed. `shared` runs the lookup in a fiber of its own: a caller that goes away stops waiting,
// and the lookup still ends (and is cached) for the others.
import { Effect, Fiber } from "effect"

// --- [FUNCTIONS]

const shared = <A, E, R>(lookup: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
	Effect.forkDaemon(lookup).pipe(Effect.flatMap(Fiber.join))

// --- [EXPORTS]

export { shared }
