//go:build !unix

package storage

import "sync"

// folderLock serializes conditional replaces within the process where the
// system has no flock.
var folderLock sync.Mutex

// lockFolder takes a lock held within this process only.
func lockFolder(folder string) (unlock func(), err error) {
	folderLock.Lock()
	return folderLock.Unlock, nil
}
