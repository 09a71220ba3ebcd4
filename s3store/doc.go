// Package s3store lets reader and writer treat Amazon S3 (or an S3-compatible
// server such as MinIO) like local files: s3:// inputs, and output prefixes.
package s3store
