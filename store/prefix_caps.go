package store

// A wrapper must not hide what the store it wraps can do: callers ask a
// Store for optional capabilities with type assertions, and a Prefixed
// store answers them for the store beneath.

// CommitPipeliner is implemented by stores that group-commit concurrent
// Update calls themselves and fold those arriving during a commit into
// the next one (store/embedded). A caller that would batch its own
// transactions (core/checkout) hands them to such a store directly.
type CommitPipeliner interface{ PipelinesCommits() bool }

// PipelinesCommits reports what the wrapped store reports, false when it
// does not say.
func (ps *prefixStore) PipelinesCommits() bool {
	cp, ok := ps.s.(CommitPipeliner)
	return ok && cp.PipelinesCommits()
}

// Unwrap returns the wrapped store, for capabilities a wrapper does not
// forward yet.
func (ps *prefixStore) Unwrap() Store { return ps.s }
