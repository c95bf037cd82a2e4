module github.com/courierhook/pipeline/deployments

go 1.26.0

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/twmb/franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c
)

require (
	github.com/caarlos0/env/v11 v11.4.2 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/sirupsen/logrus v1.10.1 // indirect
	github.com/twmb/franz-go v1.22.2 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.0 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/courierhook/pipeline/platform v0.0.0
	github.com/courierhook/pipeline/schemas v0.0.0
	github.com/segmentio/kafka-go v0.4.51
	go.uber.org/zap v1.28.0
)

replace (
	github.com/courierhook/pipeline/platform => ../platform
	github.com/courierhook/pipeline/schemas => ../schemas
)
