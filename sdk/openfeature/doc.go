// Package openfeature is the Waypost provider for the OpenFeature Go SDK
// (github.com/open-feature/go-sdk/openfeature).
//
// It evaluates locally through a *waypost.Client, so every evaluation is
// in-process and allocation-free on the Waypost side, and it reports the
// client's life to OpenFeature: PROVIDER_READY once flags are loaded,
// PROVIDER_CONFIGURATION_CHANGED with the changed flag keys,
// PROVIDER_STALE while the stream to the Waypost provider is down,
// PROVIDER_READY again when it is back, and PROVIDER_ERROR when the SDK
// key is rejected (the last known flags keep being served).
//
// The OpenFeature targeting key is the Waypost user id; other context
// attributes are ignored. A missing targeting key evaluates as an
// anonymous user (docs/evaluation.md), not as an error.
//
//	client, err := waypost.New(ctx, waypost.Config{ProviderURL: url, SDKKey: key})
//	...
//	err = openfeature.SetProviderAndWait(wpof.NewProvider(client))
package openfeature
