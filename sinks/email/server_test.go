package email_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/goleak"

	"github.com/dletter/dletter/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testUser = "relay-user"
	testPass = "relay-p4ss"
)

// testPKI is a CA and a server certificate for 127.0.0.1, made for the test
// by the module's test CA.
type testPKI struct {
	server *tls.Config // the server's certificate
	roots  *x509.CertPool
}

func newPKI(t *testing.T) testPKI {
	t.Helper()
	ca := testenv.NewCA(t)
	certPEM, keyPEM := ca.Issue(t, 1)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{server: &tls.Config{Certificates: []tls.Certificate{pair}}, roots: ca.Pool()}
}

// received is one message the server accepted, or the state of a
// transaction it refused.
type received struct {
	From string
	To   []string
	Data string
	TLS  bool   // the transaction ran over TLS
	Auth string // the mechanism used, "" for none
	User string
}

// serverOpts shapes the test server.
type serverOpts struct {
	tls       *tls.Config // offer STARTTLS with it (or implicit TLS, below)
	implicit  bool        // TLS from the first byte
	mechs     []string    // AUTH mechanisms offered: "PLAIN", "LOGIN"
	clearAuth bool        // offer AUTH without TLS too
	greeting  error       // refuse every connection with it
	mailErr   error       // reply to MAIL FROM
	rcptErr   func(to string) error
	dataErr   error         // reply at the end of DATA
	dataHold  chan struct{} // DATA waits for it to close
	discard   bool          // accept messages without reporting them
	inData    chan struct{} // receives when a DATA body has been read
	// reply, when set, answers each message once its DATA body has been
	// read, in place of dataHold, dataErr and reporting it.
	reply func(received) error
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on a
// loopback port.
type smtpServer struct {
	Addr     string
	opts     serverOpts
	mu       sync.Mutex
	sessions int
	got      chan received
	stop     func() // closes the server, once
}

func startServer(t testing.TB, opts serverOpts) *smtpServer {
	t.Helper()
	srv := &smtpServer{opts: opts, got: make(chan received, 16)}
	s := smtp.NewServer(srv)
	s.Domain = "mx.test"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.AllowInsecureAuth = opts.clearAuth
	s.ErrorLog = log.New(io.Discard, "", 0)
	if !opts.implicit {
		s.TLSConfig = opts.tls
	}
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.implicit {
		l = tls.NewListener(l, opts.tls)
	}
	srv.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	srv.stop = sync.OnceFunc(func() {
		if opts.dataHold != nil {
			select {
			case <-opts.dataHold:
			default:
				close(opts.dataHold)
			}
		}
		_ = s.Close()
		_ = l.Close() // in case Serve had not yet taken it when Close ran
		<-done
	})
	t.Cleanup(srv.stop)
	return srv
}

// Close stops the server now rather than when the test ends.
func (srv *smtpServer) Close() { srv.stop() }

// next returns the next accepted message, failing the test after a deadline.
func (srv *smtpServer) next(t testing.TB) received {
	t.Helper()
	select {
	case r := <-srv.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no message received")
		return received{}
	}
}

// Sessions returns how many connections the server saw.
func (srv *smtpServer) Sessions() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions
}

// NewSession implements smtp.Backend.
func (srv *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	srv.mu.Lock()
	srv.sessions++
	srv.mu.Unlock()
	if srv.opts.greeting != nil {
		return nil, srv.opts.greeting
	}
	return &session{srv: srv, conn: c}, nil
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return s.srv.opts.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != testUser || pass != testPass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.cur.Auth, s.cur.User = mech, user
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.srv.opts.mechs) > 0 && s.cur.Auth == "" {
		return smtp.ErrAuthRequired
	}
	if s.srv.opts.mailErr != nil {
		return s.srv.opts.mailErr
	}
	s.cur.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := s.srv.opts.rcptErr; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	if f := s.srv.opts.reply; f != nil {
		r := s.cur
		r.Data = b.String()
		return f(r)
	}
	if c := s.srv.opts.inData; c != nil {
		c <- struct{}{}
	}
	if h := s.srv.opts.dataHold; h != nil {
		<-h
	}
	if s.srv.opts.dataErr != nil {
		return s.srv.opts.dataErr
	}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.cur.Data = b.String()
	if !s.srv.opts.discard {
		s.srv.got <- s.cur
	}
	return nil
}

func (s *session) Reset() {
	s.cur = received{Auth: s.cur.Auth, User: s.cur.User}
}

func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl does not
// provide: it asks for the user name, then the password.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if response != nil { // the user name as initial response
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}
