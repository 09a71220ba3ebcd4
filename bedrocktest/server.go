package bedrocktest

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an emulator listening on a loopback port, like httptest.Server.
type Server struct {
	URL string // base URL, http://127.0.0.1:port, for bedrockruntime.Options.BaseEndpoint (and bedrock.Options.BaseEndpoint for batch jobs)

	handler   *Handler
	srv       *http.Server
	served    chan struct{}
	closeOnce sync.Once
}

// NewServer starts an emulator configured by opts on 127.0.0.1 and an ephemeral port. It
// panics if it cannot listen, as httptest.NewServer does. Close it when done.
func NewServer(opts Options) *Server {
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		panic(fmt.Sprintf("bedrocktest: failed to listen on a port: %v", err))
	}
	return s
}

// Listen starts an emulator configured by opts on addr (host:port, as net.Listen takes it),
// as `batch emulate` does. Close it when done.
func Listen(addr string, opts Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := NewHandler(opts)
	s := &Server{
		URL:     "http://" + l.Addr().String(),
		handler: h,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0), // a reset or a cut is not news
		},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(l) // returns ErrServerClosed once Close is called
	}()
	return s, nil
}

// Close stops the server: it ends hanging calls and latency waits, closes every connection
// and waits (up to a few seconds) for the handlers to return, so Stats are final.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.handler.Close()
		s.srv.Close()
		<-s.served
		for deadline := time.Now().Add(5 * time.Second); s.handler.inflight.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	})
}

// Stats returns the counters so far. It is safe for concurrent use.
func (s *Server) Stats() Stats { return s.handler.Stats() }

// ModelStats returns the counters of every model id called so far.
func (s *Server) ModelStats() map[string]ModelStats { return s.handler.ModelStats() }

// ResetDay starts a new quota day now; see Handler.ResetDay.
func (s *Server) ResetDay() { s.handler.ResetDay() }

// Handler returns the emulator the server runs.
func (s *Server) Handler() *Handler { return s.handler }
