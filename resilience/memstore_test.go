package resilience

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sync"
)

// memObjectStore is an in-memory ObjectStore with S3's conditional-write
// semantics: the ETag is the quoted MD5 of the body, If-None-Match: * fails
// when the key exists, If-Match fails unless the stored ETag equals it, and
// the check and the write are one atomic step.
type memObjectStore struct {
	mu      sync.Mutex
	objects map[string]memObject
	puts    int
	failPut error // returned by the next PutObject, then cleared
}

type memObject struct {
	body []byte
	etag string
}

func newMemObjectStore() *memObjectStore {
	return &memObjectStore{objects: map[string]memObject{}}
}

func (m *memObjectStore) GetObject(ctx context.Context, bucket, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, "", fmt.Errorf("NoSuchKey: %s: %w", key, ErrNotFound)
	}
	return append([]byte(nil), o.body...), o.etag, nil
}

func (m *memObjectStore) PutObject(ctx context.Context, bucket, key string, body []byte, cond PutCondition) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failPut; err != nil {
		m.failPut = nil
		return "", err
	}
	cur, exists := m.objects[bucket+"/"+key]
	switch {
	case cond.IfNoneMatch == "*" && exists:
		return "", fmt.Errorf("PreconditionFailed (412): %w", ErrPreconditionFailed)
	case cond.IfNoneMatch != "" && cond.IfNoneMatch != "*":
		return "", fmt.Errorf("NotImplemented: If-None-Match %q", cond.IfNoneMatch)
	case cond.IfMatch != "" && (!exists || cur.etag != cond.IfMatch):
		return "", fmt.Errorf("PreconditionFailed (412): %w", ErrPreconditionFailed)
	}
	sum := md5.Sum(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	m.objects[bucket+"/"+key] = memObject{body: append([]byte(nil), body...), etag: etag}
	m.puts++
	return etag, nil
}

func (m *memObjectStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k := range m.objects {
		ks = append(ks, k)
	}
	return ks
}
