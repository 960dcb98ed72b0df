module github.com/flatpipe/flatpipe

go 1.26
