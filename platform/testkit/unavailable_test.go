package testkit_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/testkit"
)

// TestUnavailableFailsUnderCI re-runs a test that needs Kafka and Redis in a child
// process whose addresses do not answer, and checks that under CI=true the child
// fails (not skips) with a message that says what to start, and that without CI it
// skips with the same message.
func TestUnavailableFailsUnderCI(t *testing.T) {
	if os.Getenv("TESTKIT_CHILD") == "1" {
		testkit.Kafka(t)
		testkit.Redis(t)
		return
	}
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailableFailsUnderCI$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTKIT_CHILD=1", "CI="+ci,
			"KAFKA_BROKERS=127.0.0.1:1", "REDIS_ADDR=127.0.0.1:1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("true")
	require.Error(t, err, "under CI=true a missing broker fails the test:\n%s", out)
	assert.Contains(t, out, "--- FAIL")
	assert.Contains(t, out, "KAFKA_BROKERS=127.0.0.1:1 does not answer")
	assert.Contains(t, out, "make infra-up")

	// A configured address that does not answer is an error even outside CI.
	out, err = run("")
	require.Error(t, err, "a configured but dead broker fails outside CI too:\n%s", out)
	assert.Contains(t, out, "does not answer")
}
