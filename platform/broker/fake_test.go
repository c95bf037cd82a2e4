package broker_test

import (
	"errors"
	"io"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// fakeMetadata is the metadata answer of a one-broker, one-partition fake
// transport for topic.
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

// fakeProduce answers req as a one-broker, one-partition fake for topic: the
// metadata, or a produce response whose every partition gets the error code
// answer returns for its record values (0: acked).
func fakeProduce(topic string, req kafka.Request, answer func(values []string) kafka.Error) (kafka.Response, error) {
	switch r := req.(type) {
	case *metadataAPI.Request:
		return fakeMetadata(topic), nil
	case *produceAPI.Request:
		res := &produceAPI.Response{}
		for _, t := range r.Topics {
			rt := produceAPI.ResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				values, err := recordValues(p.RecordSet)
				if err != nil {
					return nil, err
				}
				rt.Partitions = append(rt.Partitions, produceAPI.ResponsePartition{Partition: p.Partition, ErrorCode: int16(answer(values))})
			}
			res.Topics = append(res.Topics, rt)
		}
		return res, nil
	}
	return nil, errors.New("unexpected request")
}
