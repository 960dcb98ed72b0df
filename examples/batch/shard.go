package main

import (
	"fmt"
	"hash/fnv"

	"github.com/flatpipe/flatpipe/source"
)

// inShard reports whether obj belongs to shard i of n: a stable hash (FNV-1a
// 64) of the object's name, so every copy of the job started with the same
// inputs and n agrees on the split without talking to the others, and adding
// objects never moves the others between shards.
func inShard(obj source.Object, i, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(obj.Bucket))
	h.Write([]byte{0})
	h.Write([]byte(obj.Key))
	return h.Sum64()%uint64(n) == uint64(i)
}

func shardObjects(objs []source.Object, i, n int) []source.Object {
	out := objs[:0:0]
	for _, o := range objs {
		if inShard(o, i, n) {
			out = append(out, o)
		}
	}
	return out
}

// checkpointName names a shard's checkpoint: one per table and shard, so
// that copies of the job running other shards never touch it.
func checkpointName(table string, i, n int) string {
	return fmt.Sprintf("%s.shard-%d-of-%d", sanitize(table), i, n)
}
