// Package topicscan reads bounded ranges of a Kafka topic without a consumer
// group: partition list, offsets by time, and a fetch loop over [from, to). The
// repair commands and the lookup API use it, so none of them ever joins the live
// consumer group or moves its offsets.
package topicscan
