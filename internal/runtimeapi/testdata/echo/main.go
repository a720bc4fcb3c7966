// Command echo is a Lambda function for the harness's tests: what it does is
// chosen by the event's "do" field.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Do   string `json:"do"`
	Echo string `json:"echo"`
	Size int    `json:"size"`
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

func main() {
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
			time.Sleep(time.Hour)
		case "exit":
			os.Exit(7)
		case "big":
			return answer{Blob: strings.Repeat("x", e.Size)}, nil
		}
		return answer{}, fmt.Errorf("unknown do %q", e.Do)
	})
}
