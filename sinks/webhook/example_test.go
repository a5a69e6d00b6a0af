package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/webhook"
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

// A receiver checks a request by recomputing the signature over
// "webhook-id.webhook-timestamp.body" with its copy of the secret (this is
// the specification's own test vector).
func ExampleSign() {
	keys, err := webhook.ParseSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	sig := webhook.Sign(keys, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(sig)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}
