package batchinfer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineError is a failure to read, as opposed to an error from a line's callback.
type lineError struct{ err error }

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// readLines calls fn with every line of r that is not blank, numbered from 1, without its
// line ending. A line may be of any length (an output line repeats its record's
// modelInput, documents and all), which a bufio.Scanner would refuse. The slice fn gets is
// valid until fn returns.
func readLines(r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte // a line longer than br's buffer, gathered
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return &lineError{err}
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if ferr := fn(n, line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}
