package call

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
