package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/dletter/dletter/sinks"
	_ "github.com/dletter/dletter/sinks/webhook" // registers kind "webhook"
)

func Example() {
	// A receiver standing in for the real endpoint.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println("webhook-id:", r.Header.Get("webhook-id"))
		fmt.Println("signed:", r.Header.Get("webhook-signature") != "")
		fmt.Println(string(body))
	}))
	defer srv.Close()

	s, err := sinks.BuildSink("webhook", "orders", map[string]any{
		"url":    srv.URL + "/hooks/orders",
		"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := sinks.WithDeliveryID(context.Background(), "order-1042")
	err = s.Send(ctx, nil, sinks.Message{
		Subject:  "order paid",
		Body:     `{"order": 1042, "total": "19.90"}`,
		Metadata: map[string]string{"shop": "eu"},
	})
	fmt.Println("error:", err)
	// Output:
	// webhook-id: order-1042
	// signed: true
	// {"id":"order-1042","subject":"order paid","body":{"order":1042,"total":"19.90"},"metadata":{"shop":"eu"}}
	// error: <nil>
}
