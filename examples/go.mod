module github.com/flatpipe/flatpipe/examples

go 1.26

require github.com/flatpipe/flatpipe v0.0.0

replace github.com/flatpipe/flatpipe => ../
