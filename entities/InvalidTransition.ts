// The one error every lifecycle Machine answers when a request is not allowed from the current state (409 at the
// edge): it names the state and the refused operation.
import { Schema } from "effect"

// --- [ERRORS]

class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
	message: Schema.String,
	from: Schema.String,
	operation: Schema.String,
}) {}

// --- [EXPORT]

export { InvalidTransition }
