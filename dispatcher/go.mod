module github.com/courierhook/pipeline/dispatcher

go 1.26.0
