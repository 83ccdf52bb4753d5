package e2ee

// SetEpochForTest makes k the manager's current epoch with a fresh key in
// use, as if it had rekeyed that often.
func (m *Manager) SetEpochForTest(k uint16) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.newKeyLocked(k); err != nil {
		return err
	}
	return m.sender.SetKey(m.kid, m.key)
}
