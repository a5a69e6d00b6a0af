package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// importBatchBytes is how many bytes of lines one import request carries
// (a longer item goes alone, up to api.MaxImportBytes).
const importBatchBytes = 8 << 20

// Import adds the items read from src (JSON lines, as `dletter dlq export`
// writes them) to the daemon's DLQ, in requests of a few megabytes, and
// returns how many were added. Each line is checked here first: a bad line
// stops the import with a *relay.LineError naming its line in src, after
// the items of the lines before it were sent. from is ignored: the daemon
// records the import as coming from an API request.
func (c *Client) Import(ctx context.Context, _ relay.Actor, _ string, src io.Reader) (int, error) {
	rd := relay.NewItemReader(src)
	var batch bytes.Buffer
	var lines []int // the line of src of each line of batch
	enc := json.NewEncoder(&batch)
	enc.SetEscapeHTML(false)
	added := 0
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		n, err := c.importBatch(ctx, batch.Bytes(), lines)
		added += n
		batch.Reset()
		lines = lines[:0]
		return err
	}
	for {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return added, flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return added, ferr
			}
			return added, err
		}
		mark := batch.Len()
		if err := enc.Encode(it); err != nil {
			return added, &relay.LineError{Line: rd.Line(), Err: err}
		}
		if batch.Len() > importBatchBytes && len(lines) > 0 {
			line := append([]byte(nil), batch.Bytes()[mark:]...)
			batch.Truncate(mark)
			if err := flush(); err != nil {
				return added, err
			}
			batch.Write(line)
		}
		lines = append(lines, rd.Line())
	}
}

// importBatch posts one batch of lines and returns how many items the
// daemon added; an error at a line of the batch names its line in src.
func (c *Client) importBatch(ctx context.Context, body []byte, lines []int) (int, error) {
	status, data, err := c.send(ctx, "POST", "/v1/dlq/import", nil, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	var ans api.ImportAnswer
	_ = json.Unmarshal(data, &ans)
	if status == 200 {
		return ans.Added, nil
	}
	err = c.answerError(status, data)
	var ae *APIError
	if ans.Line > 0 && ans.Line <= len(lines) && errors.As(err, &ae) {
		// The daemon numbers the lines of this request: name src's.
		ae.Message = strings.TrimPrefix(ae.Message, "line "+strconv.Itoa(ans.Line)+": ")
		return ans.Added, &relay.LineError{Line: lines[ans.Line-1], Err: err}
	}
	if ans.Added > 0 {
		return ans.Added, fmt.Errorf("%w (after %d items of the request were added)", err, ans.Added)
	}
	return ans.Added, err
}
