module github.com/courierhook/pipeline/schemas

go 1.26.0
