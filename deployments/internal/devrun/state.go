package devrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// State is what devrun writes to its state file while it runs, so cmd/demo talks
// to the broker and gateway devrun chose (the embedded broker may have moved to a
// free port). The file is removed when devrun stops.
type State struct {
	PID            int      `json:"pid"`
	KafkaBrokers   []string `json:"kafka_brokers"`
	KafkaEmbedded  bool     `json:"kafka_embedded"`
	RedisAddr      string   `json:"redis_addr"`
	RedisEmbedded  bool     `json:"redis_embedded"`
	GatewayURL     string   `json:"gateway_url"`
	GatewayOpsURL  string   `json:"gateway_ops_url"`
	CanonicalTopic string   `json:"canonical_topic"`
	SinkURL        string   `json:"sink_url"`
}

// WriteState writes s to path atomically.
func WriteState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}

// ReadState reads the state file at path. It returns an error wrapping
// os.ErrNotExist when devrun is not running.
func ReadState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("reading devrun state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decoding devrun state %s: %w", path, err)
	}
	return s, nil
}
