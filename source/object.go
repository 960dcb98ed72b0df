package source

import "time"

// Object identifies a local file (Bucket empty, Key the path) or an S3 object.
// It is a plain value, safe to copy and compare.
type Object struct {
	Bucket       string
	Key          string
	VersionID    string
	ETag         string // as S3 returns it, with quotes; empty for local files
	Size         int64  // -1 if unknown
	LastModified time.Time
}

// IsS3 reports whether o names an S3 object.
func (o Object) IsS3() bool { return o.Bucket != "" }

// String returns "s3://bucket/key" (with "?versionId=" when set) or the path.
func (o Object) String() string {
	if !o.IsS3() {
		return o.Key
	}
	s := "s3://" + o.Bucket + "/" + o.Key
	if o.VersionID != "" {
		s += "?versionId=" + o.VersionID
	}
	return s
}

// Record is one record with its provenance. Data is valid only during the
// callback that receives it.
type Record struct {
	Object *Object
	Data   []byte
	Offset int64 // decompressed byte offset of the record's first byte
	Line   int64 // 1-based line where the record starts
	Number int64 // 1-based record number in the object, as Scanner.Number
}
