package stagefile

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pqZstd is a Parquet ZSTD codec with one encoder whose window is sized for
// Parquet pages (parquet-go's own codec keeps encoders with an 8 MiB
// history each, which dominated a Parquet writer's memory).
type pqZstd struct {
	level zstd.EncoderLevel
	mu    sync.Mutex
	enc   *zstd.Encoder
	dec   *zstd.Decoder
}

func (c *pqZstd) String() string                            { return "ZSTD" }
func (c *pqZstd) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *pqZstd) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		var err error
		c.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(c.level), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if err != nil {
			return dst, err
		}
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *pqZstd) Decode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dec == nil {
		var err error
		if c.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
			return dst, err
		}
	}
	return c.dec.DecodeAll(src, dst[:0])
}
