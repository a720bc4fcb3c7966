// Command echo is a Lambda function for the harness's tests: what it does is
// chosen by the event's "do" field.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Do   string `json:"do"`
	Echo string `json:"echo"`
	Size int    `json:"size"` // big: response bytes; spawn: MB the function itself keeps
	MB   int    `json:"mb"`   // alloc, spawn: memory to use
	Ms   int    `json:"ms"`   // sleep: how long (default an hour)
	Dir  string `json:"dir"`  // hold: where to signal and wait
	Name string `json:"name"` // hold: this invocation's name
}

type answer struct {
	Echo        string `json:"echo,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	DeadlineMs  int64  `json:"deadlineMs,omitempty"`
	FunctionArn string `json:"functionArn,omitempty"`
	PID         int    `json:"pid,omitempty"`
	Env         string `json:"env,omitempty"`
	Blob        string `json:"blob,omitempty"`
}

// kept is memory held across events.
var kept [][]byte

// use allocates mb MB and touches every page, so that it is resident.
func use(mb int) []byte {
	b := make([]byte, mb<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

func main() {
	if mb, err := strconv.Atoi(os.Getenv("ECHO_CHILD_MB")); err == nil {
		// The child of "spawn": hold mb MB until killed.
		b := use(mb)
		fmt.Println("ready")
		time.Sleep(time.Hour)
		runtime.KeepAlive(b)
		return
	}
	switch os.Getenv("ECHO_FAIL_INIT") {
	case "exit": // a function whose set-up fails and exits
		fmt.Fprintln(os.Stderr, "init: failing on purpose")
		os.Exit(3)
	case "report": // a runtime that reports its set-up failure, then exits
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"errorType":"Config.Missing","errorMessage":"TABLE_NAME is not set"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Config.Missing")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		time.Sleep(time.Hour) // the harness must stop it
	}
	lambda.Start(func(ctx context.Context, e event) (answer, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		fmt.Println("handling", e.Do)
		switch e.Do {
		case "echo":
			return answer{Echo: e.Echo, RequestID: lc.AwsRequestID, DeadlineMs: dl.UnixMilli(), FunctionArn: lc.InvokedFunctionArn, PID: os.Getpid()}, nil
		case "env":
			return answer{Env: strings.Join(os.Environ(), "\n")}, nil
		case "error":
			return answer{}, errors.New("asked to fail")
		case "panic":
			panic("asked to panic")
		case "sleep":
			d := time.Hour
			if e.Ms > 0 {
				d = time.Duration(e.Ms) * time.Millisecond
			}
			time.Sleep(d)
			return answer{Echo: e.Echo, PID: os.Getpid()}, nil
		case "hold": // say it started, then wait until released
			os.WriteFile(filepath.Join(e.Dir, e.Name+".started"), nil, 0o644)
			for {
				if _, err := os.Stat(filepath.Join(e.Dir, "release")); err == nil {
					return answer{Echo: e.Name, PID: os.Getpid()}, nil
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "failfirst": // fail the first time dir is named, succeed after
			marker := filepath.Join(e.Dir, "failed-once")
			if _, err := os.Stat(marker); err != nil {
				os.WriteFile(marker, nil, 0o644)
				return answer{}, errors.New("first attempt fails")
			}
			return answer{Echo: e.Echo, PID: os.Getpid()}, nil
		case "alloc": // use mb MB, then let it go and answer
			b := use(e.MB)
			runtime.KeepAlive(b)
			return answer{Echo: e.Echo, PID: os.Getpid()}, nil
		case "spawn": // start a child that holds mb MB and outlives the event
			kept = append(kept, use(e.Size))
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "ECHO_CHILD_MB="+strconv.Itoa(e.MB))
			out, err := cmd.StdoutPipe()
			if err != nil {
				return answer{}, err
			}
			if err := cmd.Start(); err != nil {
				return answer{}, err
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			return answer{Echo: strings.TrimSpace(line), PID: os.Getpid()}, nil
		case "exit":
			os.Exit(7)
		case "big":
			return answer{Blob: strings.Repeat("x", e.Size)}, nil
		}
		return answer{}, fmt.Errorf("unknown do %q", e.Do)
	})
}
