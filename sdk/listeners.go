package waypost

import "slices"

// OnFlagChange calls fn with the new revision whenever flag key is added,
// changed or removed by a new flag set (its value, rollout, assignments,
// state or experiment; not other flags). It returns a function that
// unregisters fn. fn runs on the client's sync goroutine, like Listen's
// callbacks: it must not block for long, nor call Close. Evaluate the flag
// inside fn to read its new value for a user.
func (c *Client) OnFlagChange(key string, fn func(revision int64)) (cancel func()) {
	return c.Listen(func(e Event) {
		if e.Kind == EventChange {
			if _, found := slices.BinarySearch(e.Change.ChangedKeys, key); found {
				fn(e.Change.Revision)
			}
		}
	})
}
