//go:build !unix

package filelock

import (
	"errors"
	"os"
)

func lockFile(*os.File) error {
	return errors.ErrUnsupported
}
