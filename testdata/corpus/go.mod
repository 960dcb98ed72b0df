module github.com/flatpipe/flatpipe/testdata/corpus

go 1.26
