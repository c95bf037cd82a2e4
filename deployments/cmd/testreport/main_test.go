package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const sample = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestIntegrationA"}
{"Action":"output","Package":"p","Test":"TestIntegrationA","Output":"=== RUN   TestIntegrationA\n"}
{"Action":"pass","Package":"p","Test":"TestIntegrationA","Elapsed":0.1}
{"Action":"run","Package":"p","Test":"TestIntegrationB"}
{"Action":"output","Package":"p","Test":"TestIntegrationB","Output":"    x_test.go:9: no Kafka for integration tests\n"}
{"Action":"skip","Package":"p","Test":"TestIntegrationB","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestUnit"}
{"Action":"output","Package":"p","Test":"TestUnit","Output":"    u_test.go:3: expected 1, got 2\n"}
{"Action":"fail","Package":"p","Test":"TestUnit","Elapsed":0}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.2s\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
{"Action":"output","Package":"q","Output":"ok  \tq\t0.1s\n"}
{"Action":"pass","Package":"q","Elapsed":0.1}
`

func TestReport(t *testing.T) {
	var out bytes.Buffer
	failed := report(strings.NewReader(sample), &out, "", "p")
	assert.True(t, failed)
	s := out.String()
	assert.Contains(t, s, "expected 1, got 2", "failed test output is shown")
	assert.Contains(t, s, "ok  \tq\t0.1s")
	assert.Contains(t, s, "SKIPPED integration test: p TestIntegrationB: x_test.go:9: no Kafka for integration tests")
	assert.Contains(t, s, "p            tests: 1 passed, 1 failed, 1 skipped; integration tests: 1 passed, 0 failed, 1 skipped")
}

func TestReport_AllPass(t *testing.T) {
	var out bytes.Buffer
	in := `{"Action":"pass","Package":"q","Test":"TestX"}` + "\n" + `{"Action":"pass","Package":"q"}` + "\n"
	assert.False(t, report(strings.NewReader(in), &out, "", "p"))
}
