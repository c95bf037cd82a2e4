module github.com/courierhook/pipeline/normalizer

go 1.26.0
