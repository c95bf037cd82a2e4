package publish_test

import (
	"errors"
	"io"

	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// fakeMetadata is the metadata answer of a one-broker, one-partition fake
// transport for topic. (platform/broker's producer tests have the same two
// helpers: test files cannot be shared across modules.)
func fakeMetadata(topic string) *metadataAPI.Response {
	return &metadataAPI.Response{
		Brokers: []metadataAPI.ResponseBroker{{NodeID: 1, Host: "fake", Port: 9092}},
		Topics: []metadataAPI.ResponseTopic{{Name: topic,
			Partitions: []metadataAPI.ResponsePartition{{PartitionIndex: 0, LeaderID: 1}}}},
	}
}

// recordValues reads the values of every record in a produce request's record set.
func recordValues(rs protocol.RecordSet) ([]string, error) {
	var values []string
	for {
		rec, err := rs.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return values, nil
		}
		if err != nil {
			return nil, err
		}
		v, _ := protocol.ReadAll(rec.Value)
		values = append(values, string(v))
	}
}
