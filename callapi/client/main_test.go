package client_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/internal/testenv"
)

// gatewayURL is the gateway the examples talk to: `callgw dev` (a gateway,
// a worker and the ARI simulator) started by TestMain on the test broker,
// as a user runs `make dev`. Outside the examples it is
// http://127.0.0.1:8080, or wherever your gateway listens.
var gatewayURL string

// TestMain runs `callgw dev` for the examples. Without a broker the
// examples cannot run: under CI=true that fails the package; elsewhere
// only the tests run.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || !examplesSelected() {
		os.Exit(m.Run())
	}
	stop, err := startDev()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "callapi/client examples:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "callapi/client: examples not run:", err)
		_ = flag.Set("test.run", "^Test")
		os.Exit(m.Run())
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "callapi/client examples:", err)
		code = 1
	}
	os.Exit(code)
}

// examplesSelected reports whether -run may select an example.
func examplesSelected() bool {
	run := flag.Lookup("test.run").Value.String()
	if run == "" {
		return true
	}
	re, err := regexp.Compile(run)
	return err == nil && re.MatchString("Example")
}

// startDev builds callgw and runs `callgw dev` on free ports and a
// run-unique AMQP prefix; stop ends it and deletes what it declared.
func startDev() (stop func() error, err error) {
	amqpURL := testenv.BrokerURL()
	if err := brokerAnswers(amqpURL); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "callapi-examples")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "callgw")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/callgw/callgw/cmd/callgw").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	prefix := "sdkex" + uuid.NewString()[:8] + "."
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(), "CALLGW_AMQP_URL="+amqpURL, "CALLGW_AMQP_PREFIX="+prefix, "CALLGW_STATE_DIR="+dir,
		"CALLGW_HTTP_ADDR=127.0.0.1:0", "CALLGW_SIM_ADDR=127.0.0.1:0", "CALLGW_METRICS_ADDR=", "CALLGW_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited, base := make(chan error, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`callgw dev is up: gateway (http://\S+),`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	stop = func() error {
		defer os.RemoveAll(dir)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		var err error
		select {
		case err = <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			err = fmt.Errorf("callgw dev did not stop within 20s of SIGTERM")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if derr := amqpbus.DeleteTopology(ctx, amqpURL, prefix); derr != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", derr)
		}
		if err != nil {
			return fmt.Errorf("callgw dev: %v\n%s", err, stderr.String())
		}
		return nil
	}
	select {
	case gatewayURL = <-base:
		return stop, nil
	case err := <-exited:
		_ = stop()
		return nil, fmt.Errorf("callgw dev exited before it was up: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		_ = stop()
		return nil, fmt.Errorf("callgw dev not up within 60s\n%s", stderr.String())
	}
}

// brokerAnswers checks that something listens at the broker's address.
func brokerAnswers(url string) error {
	u, err := amqp.ParseURI(url)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Host, fmt.Sprint(u.Port)), 2*time.Second)
	if err != nil {
		return fmt.Errorf("RabbitMQ not reachable: %w", err)
	}
	return c.Close()
}
