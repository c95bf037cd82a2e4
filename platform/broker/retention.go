package broker

import (
	"strconv"
	"time"
)

// DefaultRepairRetention is the retention of the raw topic and both dead-letter
// topics unless KAFKA_REPAIR_RETENTION says otherwise: 30 days, the window in
// which dead letters can be redriven and raw records re-normalized.
const DefaultRepairRetention = 30 * 24 * time.Hour

// RepairRetention is c.Retention, or DefaultRepairRetention when unset.
func (c Config) RepairRetention() time.Duration {
	if c.Retention <= 0 {
		return DefaultRepairRetention
	}
	return c.Retention
}

// RepairTopicConfig is the topic configuration a service passes in
// TopicSpec.Config when it creates the raw topic or a dead-letter topic:
// an explicit retention.ms (the broker default, often 7 days, would silently
// shorten how far back repair reaches). Existing topics are not altered
// (EnsureTopics leaves them alone); change those with kafka-configs.sh.
func (c Config) RepairTopicConfig() map[string]string {
	return map[string]string{"retention.ms": strconv.FormatInt(c.RepairRetention().Milliseconds(), 10)}
}
