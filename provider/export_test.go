package provider

import (
	"context"

	"github.com/waypost/waypost/sdk/eval"
)

// ApplyFlagSet installs set for envID with the environment's keys as the
// database holds them now (for tests that serve a flag set the database
// does not hold: webhooks only announce revisions).
func (p *Provider) ApplyFlagSet(envID int64, set *eval.FlagSet) error {
	es, err := p.st.EnvironmentState(context.Background(), envID)
	if err != nil {
		return err
	}
	_, err = p.applyEnv(envID, set, keysOf(envID, es.Keys), "test", false)
	return err
}
