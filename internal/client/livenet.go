package client

import (
	"fmt"
	"sync"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// liveNet is the operating system's network as Pion sees it, with an
// interface list that is read again on refresh. Pion's own (stdnet) reads
// the interfaces once, when the PeerConnection is made; after a network
// change an ICE restart would then gather on addresses that no longer
// exist. The client refreshes it before applying each offer, so that the
// restart the server offers gathers on the addresses the host has now.
type liveNet struct {
	*stdnet.Net
	mu  sync.Mutex
	ifs []*transport.Interface
}

func newLiveNet() (*liveNet, error) {
	std, err := stdnet.NewNet() // sockets and resolution; fixed
	if err != nil {
		return nil, fmt.Errorf("client: network interfaces: %w", err)
	}
	n := &liveNet{Net: std}
	n.ifs, _ = std.Interfaces()
	return n, nil
}

// refresh reads the host's interfaces and addresses again.
func (n *liveNet) refresh() error {
	fresh, err := stdnet.NewNet()
	if err != nil {
		return fmt.Errorf("client: network interfaces: %w", err)
	}
	ifs, _ := fresh.Interfaces()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ifs = ifs
	return nil
}

// Interfaces implements transport.Net.
func (n *liveNet) Interfaces() ([]*transport.Interface, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ifs, nil
}

// InterfaceByIndex implements transport.Net.
func (n *liveNet) InterfaceByIndex(index int) (*transport.Interface, error) {
	ifs, _ := n.Interfaces()
	for _, i := range ifs {
		if i.Index == index {
			return i, nil
		}
	}
	return nil, fmt.Errorf("%w: index=%d", transport.ErrInterfaceNotFound, index)
}

// InterfaceByName implements transport.Net.
func (n *liveNet) InterfaceByName(name string) (*transport.Interface, error) {
	ifs, _ := n.Interfaces()
	for _, i := range ifs {
		if i.Name == name {
			return i, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", transport.ErrInterfaceNotFound, name)
}
