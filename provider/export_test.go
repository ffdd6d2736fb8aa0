package provider

import "github.com/waypost/waypost/sdk/eval"

// ApplyFlagSet installs set for envID, keeping the environment's keys (for
// tests that serve a flag set the database does not hold: webhooks only
// announce revisions).
func (p *Provider) ApplyFlagSet(envID int64, set *eval.FlagSet) error {
	keys := map[keyHash]keyInfo{}
	for h, k := range p.world.Load().keys {
		if k.envID == envID {
			keys[h] = k
		}
	}
	_, err := p.applyEnv(envID, set, keys, "test", false)
	return err
}
