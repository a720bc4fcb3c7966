// Package localstack runs the whole s3ocr flow on one machine: real
// S3-compatible (MinIO) and DynamoDB-compatible (dynalite) servers on
// loopback, the bucket, table and notifications configured as template.yaml
// configures them in AWS, the HTTP API served from the same handlers the
// Lambda functions run, and bucket notifications delivered to the process
// handler as events.S3Event with Lambda's async retry behaviour.
//
// It is used by `make dev` (cmd/s3ocr-dev) and by integration tests.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Server is a child process serving on a loopback port.
type Server struct {
	Name string
	Addr string // host:port on 127.0.0.1
	Log  string // path of the file holding its stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startServer starts name with args and env (added to this process's
// environment), writing its output to dir/name.log. The process gets its own
// process group so that Stop also ends anything it started.
func startServer(name, addr, dir string, env []string, path string, args ...string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, Addr: addr, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	return s, nil
}

// waitTCP waits until the server accepts TCP connections, the process exits,
// or ctx ends.
func (s *Server) waitTCP(ctx context.Context) error {
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log %s ends:\n%s", s.Name, s.err, s.Log, s.Tail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w; its log %s ends:\n%s", s.Name, s.Addr, ctx.Err(), s.Log, s.Tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.done }

// Stop ends the server's process group: SIGTERM, then SIGKILL after a grace
// period. It is safe to call more than once.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	return nil
}

// Tail returns the last n lines of the server's log, for error messages.
func (s *Server) Tail(n int) string {
	b, err := os.ReadFile(s.Log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ModuleRoot returns the directory holding go.mod, searching upwards from the
// working directory, so tools installed in the project (node_modules) are
// found from any package's tests.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ErrToolMissing is wrapped by the Start functions when a server's binary is
// not installed; `make tools` installs them.
var ErrToolMissing = errors.New("not installed (run `make tools`)")

// Skippable reports whether tests that met err starting a server may skip
// rather than fail: the server is not installed, and S3OCR_REQUIRE_TOOLS=1
// (make test, where make tools installed everything) is not set.
func Skippable(err error) bool {
	return errors.Is(err, ErrToolMissing) && os.Getenv("S3OCR_REQUIRE_TOOLS") != "1"
}
