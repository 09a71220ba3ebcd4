package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The modes of what a LocalDir makes, before the umask: the modes cp,
// tar and most tools ask for, so a results directory shared by a group
// behaves as the umask of whoever ran the job says, the same for data
// files, the manifest and every bookkeeping file.
const (
	// FileMode is the mode of every file: rw for all, masked by the umask
	// (0644 under the usual umask 022, 0664 under 002).
	FileMode fs.FileMode = 0o666
	// DirMode is the mode of every folder: rwx for all, masked by the
	// umask.
	DirMode fs.FileMode = 0o777
)

// createTemp creates a new file in folder named prefix followed by random
// hex, with mode FileMode. os.CreateTemp would make it 0600 whatever the
// umask, and the file is renamed to its final name, keeping that mode.
func createTemp(folder, prefix string) (*os.File, error) {
	for range 10 {
		f, err := os.OpenFile(filepath.Join(folder, prefix+randomHex(6)), os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("storage: no free temporary name %s* in %s", prefix, folder)
}
