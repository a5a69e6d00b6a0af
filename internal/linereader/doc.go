// Package linereader reads '\n'-terminated lines of any length from an
// io.Reader. Unlike bufio.Scanner it has no line-length limit (its buffer
// grows to hold the longest line, then is reused), and it tells a complete
// final line from an unterminated tail left by a crash.
//
// Use:
//
//	r := linereader.New(f, 0)
//	for {
//		line, err := r.Next()
//		if err == io.EOF {
//			break // every complete line has been read
//		}
//		if errors.Is(err, linereader.ErrUnterminated) {
//			// line holds the bytes after the last '\n': a torn write
//			break
//		}
//		if err != nil {
//			return err
//		}
//		use(line) // valid until the next call to Next
//	}
//
// Lines are returned without their '\n'. Offset and Lines report where the
// last line started and how many lines have been returned, which is what a
// checkpoint or an index needs.
package linereader
