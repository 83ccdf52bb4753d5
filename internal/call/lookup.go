package call

// Lookups of the registry and its calls from outside, each under the
// locks it needs and never holding the registry's while taking a call's.

import "sort"

// Member returns the identity of participant id in the live call name, if
// it is in it now (the server checks a witness statement's signer with it).
func (r *Registry) Member(name, id string) (Identity, bool) {
	r.mu.Lock()
	c := r.calls[name]
	r.mu.Unlock()
	if c == nil {
		return Identity{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.find(id); e != nil {
		return e.id, true
	}
	return Identity{}, false
}

// Calls lists the live calls' names, sorted.
func (r *Registry) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.calls))
	for n := range r.calls {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CallCount is the number of live calls, empty ones in their grace included.
func (r *Registry) CallCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Participants counts members over all live calls.
func (r *Registry) Participants() int {
	r.mu.Lock()
	calls := make([]*Call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	n := 0
	for _, c := range calls {
		c.mu.Lock()
		n += len(c.members)
		c.mu.Unlock()
	}
	return n
}
