package waypost_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waypost/waypost/sdk/internal/require"
)

// A program outside the repository builds against the SDK module (through
// a replace to this checkout, as it would through a tag sdk/vX.Y.Z) and
// inherits none of the server's dependencies: its go.sum names no gonum,
// testify, pgx, River or chi.
func TestConsumerProgramBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	t.Parallel()
	sdkDir, err := filepath.Abs(".")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("go.mod", "module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/waypost/waypost/sdk v0.0.0\n\nreplace github.com/waypost/waypost/sdk => "+sdkDir+"\n")
	write("main.go", `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

func main() {
	client, err := waypost.New(context.Background(), waypost.Config{Offline: true,
		Bootstrap: &eval.FlagSet{Project: "p", Environment: "e", Revision: 1}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.WaitForReady(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(client.Bool("anything", "user-1", true))
}
`)
	run := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	run("mod", "tidy")
	run("vet", ".")
	require.Equal(t, "true\n", run("run", "."))
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	require.NoError(t, err)
	for _, server := range []string{"gonum.org", "stretchr/testify", "jackc/pgx", "riverqueue", "go-chi", "prometheus"} {
		require.False(t, strings.Contains(string(sum), server), "the consumer's go.sum names %s:\n%s", server, sum)
	}
}
