//go:build !unix

package checkpoint

import (
	"errors"
	"os"
)

func mmap(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func munmap([]byte) error { return errors.ErrUnsupported }

func msync([]byte) error { return errors.ErrUnsupported }
