module github.com/courierhook/pipeline/normalizer

go 1.26.0

require github.com/courierhook/pipeline/schemas v0.0.0

replace github.com/courierhook/pipeline/schemas => ../schemas
