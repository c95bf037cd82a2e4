package devrun

import (
	"errors"
	"time"

	"github.com/courierhook/pipeline/platform/config"
)

// Config is devrun's configuration, read from the environment. Variables the
// services read themselves (GATEWAY_*, NORMALIZER_*, DISPATCHER_*, LOG_*) pass
// through to the children unchanged; devrun only fills in what is missing.
type Config struct {
	// KafkaBrokers, when set, is a real Kafka to use instead of the embedded broker.
	KafkaBrokers []string `env:"KAFKA_BROKERS" envSeparator:","`
	// RedisAddr, when set, is a real Redis to use instead of the embedded one.
	RedisAddr string `env:"REDIS_ADDR"`
	// KafkaPort is the embedded broker's port on 127.0.0.1. Not 9092, so a real
	// Kafka there keeps working; when the port is taken a free one is used (the
	// state file and the banner say which).
	KafkaPort int `env:"DEVRUN_KAFKA_PORT" envDefault:"19092"`
	// RedisPort is the embedded Redis's port on 127.0.0.1 (not 6379, same reason).
	RedisPort int `env:"DEVRUN_REDIS_PORT" envDefault:"16379"`
	// Partitions is the partition count of the raw and canonical topics when devrun
	// creates them (the DLQ and dispatch topics get 3).
	Partitions int `env:"DEVRUN_PARTITIONS" envDefault:"12"`
	// BinDir holds the service binaries (`make build` writes them), relative to the
	// repository root unless absolute.
	BinDir string `env:"DEVRUN_BIN_DIR" envDefault:"bin"`
	// DataDir holds the gateway's spool, relative to the repository root unless absolute.
	DataDir string `env:"DEVRUN_DATA_DIR" envDefault:"bin/devrun-data"`
	// StateFile is where devrun writes the addresses it chose, for cmd/demo.
	StateFile string `env:"DEVRUN_STATE_FILE" envDefault:"bin/devrun.json"`
	// GatewayAddr is the gateway's webhook listener.
	GatewayAddr string `env:"GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`
	// GatewayOpsAddr, NormalizerOpsAddr and DispatcherOpsAddr are the services'
	// ops listeners (/healthz, /readyz, /metrics): the services' own loopback
	// defaults (9091, 9094, 9095), which do not collide on one host.
	GatewayOpsAddr    string `env:"GATEWAY_OPS_ADDR" envDefault:"127.0.0.1:9091"`
	NormalizerOpsAddr string `env:"NORMALIZER_OPS_ADDR" envDefault:"127.0.0.1:9094"`
	DispatcherOpsAddr string `env:"DISPATCHER_OPS_ADDR" envDefault:"127.0.0.1:9095"`
	// RoutesFile is the dispatcher's routing rules, relative to the repository root
	// unless absolute. The default sends everything to local sinks only: two
	// topics on the broker and devrun's webhook receiver.
	RoutesFile string `env:"DISPATCHER_ROUTES_FILE" envDefault:"deployments/devrun/routes.yaml"`
	// SinkPort is the port of devrun's local webhook receiver on 127.0.0.1 (a free
	// one when taken). devrun/routes.yaml delivers to it via ${DEVRUN_SINK_URL}.
	SinkPort int `env:"DEVRUN_SINK_PORT" envDefault:"18090"`
	// LogLevel and LogFormat apply to devrun and are the children's defaults.
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"console"`
	// ReadyTimeout bounds the wait for every /readyz to answer 200.
	ReadyTimeout time.Duration `env:"DEVRUN_READY_TIMEOUT" envDefault:"90s"`
	// RepairRetention is the retention devrun gives the raw topic and the
	// dead-letter topics it creates; the services read the same variable.
	RepairRetention time.Duration `env:"KAFKA_REPAIR_RETENTION" envDefault:"720h"`
	// StopTimeout bounds each child's drain after SIGTERM; then SIGKILL.
	StopTimeout time.Duration `env:"DEVRUN_STOP_TIMEOUT" envDefault:"20s"`
}

// Validate reports every value that would otherwise fail late, joined.
func (c *Config) Validate() error {
	return errors.Join(
		config.Check(c.KafkaPort >= 0 && c.KafkaPort < 65536, "DEVRUN_KAFKA_PORT", "a port number"),
		config.Check(c.RedisPort >= 0 && c.RedisPort < 65536, "DEVRUN_REDIS_PORT", "a port number"),
		config.Check(c.SinkPort >= 0 && c.SinkPort < 65536, "DEVRUN_SINK_PORT", "a port number"),
		config.Check(c.RoutesFile != "", "DISPATCHER_ROUTES_FILE", "a routes file"),
		config.Check(c.Partitions > 0, "DEVRUN_PARTITIONS", "at least 1"),
		config.Check(c.BinDir != "", "DEVRUN_BIN_DIR", "a directory"),
		config.Check(c.GatewayAddr != "", "GATEWAY_ADDR", "host:port"),
		config.Check(c.ReadyTimeout > 0, "DEVRUN_READY_TIMEOUT", "a positive duration"),
		config.Check(c.StopTimeout > 0, "DEVRUN_STOP_TIMEOUT", "a positive duration"),
		config.Check(c.RepairRetention > 0, "KAFKA_REPAIR_RETENTION", "a positive duration"),
	)
}
