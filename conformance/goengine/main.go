// Command goengine runs vitalsync's own reconcile package as an engine of
// the conformance protocol (docs/conformance/protocol.md) on stdin and
// stdout:
//
//	go build -o /tmp/goengine ./conformance/goengine
//	vitalsync conformance --engine /tmp/goengine
//
// It is the harness's reference engine, the same as the vitalsync
// command's conformance-engine. --mutate removes one planner rule from its
// plan command, for the harness's own test that such an engine fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vitalsync/vitalsync/conformance"
)

func main() {
	mutate := flag.String("mutate", "", "test only: remove a planner rule from the plan command")
	flag.Parse()
	err := conformance.ServeEngine(context.Background(), os.Stdin, os.Stdout,
		conformance.EngineOptions{Version: "dev", Mutation: *mutate})
	if err != nil {
		fmt.Fprintln(os.Stderr, "goengine:", err)
		os.Exit(1)
	}
}
