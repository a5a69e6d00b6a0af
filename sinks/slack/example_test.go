package slack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/dletter/dletter/sinks"
	_ "github.com/dletter/dletter/sinks/slack" // registers kind "slack"
)

func Example() {
	// A server standing in for hooks.slack.com.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(string(body))
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()

	s, err := sinks.BuildSink("slack", "ops-channel", map[string]any{
		"webhook_url": srv.URL + "/services/T000/B000/XXXX",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Send(context.Background(), nil, sinks.Message{
		Subject: "db1 is down",
		Body:    "replica lag > 30s, paging <!channel>",
	})
	fmt.Println("error:", err)
	// Output:
	// {"text":"*db1 is down*\nreplica lag \u0026gt; 30s, paging \u0026lt;!channel\u0026gt;"}
	// error: <nil>
}
