// Command s3ocr-invoke runs a built Lambda bootstrap once on this machine,
// under the Lambda Runtime API harness the tests use (internal/runtimeapi),
// as `sam local invoke` would in Docker:
//
//	s3ocr-invoke -bootstrap dist/process/bootstrap -event events/s3-put.json
//
// The function's response goes to stdout; its logs, with Lambda's START, END
// and REPORT lines (duration, billed duration, memory size, max memory used,
// init duration), go to stderr. The function is killed, as Lambda kills it,
// at its timeout or when its processes use more than -memory MB. The function sees this process's environment (the
// local stack's endpoints, for instance) plus -env settings. The exit status
// is 1 when the function failed or timed out.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/runtimeapi"
)

type envFlags map[string]string

func (e envFlags) String() string { return "" }

func (e envFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	e[k] = v
	return nil
}

func main() {
	bootstrap := flag.String("bootstrap", "", "the function's bootstrap executable (inside -chroot when given)")
	eventFile := flag.String("event", "", "the event, a JSON file (- for stdin)")
	timeout := flag.Duration("timeout", 30*time.Second, "the function's timeout")
	memory := flag.Int("memory", 1769, "the function's memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE)")
	name := flag.String("name", "function", "the function's name")
	chroot := flag.String("chroot", "", "run the bootstrap with this directory as its root (needs root)")
	env := envFlags{}
	flag.Var(env, "env", "KEY=VALUE for the function's environment (repeatable)")
	flag.Parse()
	if *bootstrap == "" || *eventFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	var event []byte
	var err error
	if *eventFile == "-" {
		event, err = io.ReadAll(os.Stdin)
	} else {
		event, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-invoke:", err)
		os.Exit(2)
	}

	// The function gets this process's environment, as sam local invoke
	// passes --env-vars, with -env on top.
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for k, v := range env {
		vars[k] = v
	}
	fn := &runtimeapi.Function{Path: *bootstrap, Chroot: *chroot, Env: vars, Name: *name, MemoryMB: *memory,
		Timeout: *timeout, Stdout: os.Stderr, Stderr: os.Stderr}
	defer fn.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := fn.Invoke(ctx, event)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-invoke:", err)
		os.Exit(2)
	}
	// The harness has written Lambda's START, END and REPORT lines to the
	// function's log, here stderr.
	if res.Error != nil {
		fmt.Fprintf(os.Stderr, "function error: %s: %s\n", res.Error.Type, res.Error.Message)
		os.Exit(1)
	}
	os.Stdout.Write(res.Payload)
	fmt.Println()
}
