module github.com/courierhook/pipeline/gateway

go 1.26.0
