package waypost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/waypost/waypost/sdk/eval"
)

// loadBootstrap serves Config.Bootstrap and/or Config.BootstrapFile,
// whichever has the higher revision (the file on a tie). An invalid
// in-memory bootstrap is an error; a missing file is ignored and an
// unreadable or invalid one is logged and ignored.
func (c *Client) loadBootstrap(ctx context.Context) error {
	var (
		best     *eval.FlagSet
		bestSnap *eval.Snapshot
	)
	if c.cfg.Bootstrap != nil {
		wire, err := cloneFlagSet(c.cfg.Bootstrap)
		if err != nil {
			return fmt.Errorf("waypost: bootstrap: %w", err)
		}
		snap, err := eval.Compile(wire)
		if err != nil {
			return fmt.Errorf("waypost: bootstrap: %w", err)
		}
		best, bestSnap = wire, snap
	}
	if c.cfg.BootstrapFile != "" && ctx.Err() == nil {
		wire, snap, err := readBootstrap(c.cfg.BootstrapFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.log.Debug("waypost: no bootstrap file yet", "path", c.cfg.BootstrapFile)
		case err != nil:
			c.log.Warn("waypost: ignoring bootstrap file", "path", c.cfg.BootstrapFile, "err", err)
		case best == nil || wire.Revision >= best.Revision:
			best, bestSnap = wire, snap
		}
	}
	if best != nil {
		c.install(best, bestSnap, SourceBootstrap)
	}
	return nil
}

// cloneFlagSet deep-copies fs through its wire form, so the caller's
// value may change afterwards.
func cloneFlagSet(fs *eval.FlagSet) (*eval.FlagSet, error) {
	b, err := json.Marshal(fs)
	if err != nil {
		return nil, fmt.Errorf("encode flag set: %w", err)
	}
	var out eval.FlagSet
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode flag set: %w", err)
	}
	return &out, nil
}

// readBootstrap reads and compiles a flag set file.
func readBootstrap(path string) (*eval.FlagSet, *eval.Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var wire eval.FlagSet
	if err := decodeStrict(b, &wire); err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", path, err)
	}
	snap, err := eval.Compile(&wire)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &wire, snap, nil
}

// writeBootstrap replaces path with fs atomically (temporary file in the
// same directory, fsync, rename).
func writeBootstrap(path string, fs *eval.FlagSet) error {
	b, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("encode flag set: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}
