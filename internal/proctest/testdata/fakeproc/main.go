// Command fakeproc behaves like a shopedge tier for proctest's own tests:
// it serves the standard endpoints on 127.0.0.1:0, logs a JSON "serving"
// line and exits with FAKE_EXIT_CODE on SIGTERM; -bad is an invalid
// configuration (exit 2), -hang ignores SIGTERM.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	hang := false
	for _, a := range os.Args[1:] {
		switch a {
		case "-bad":
			fmt.Fprintln(os.Stderr, "fakeproc: invalid configuration: server.addr: bad")
			os.Exit(2)
		case "-hang":
			hang = true
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// /healthz and /readyz answer as shopedge's binaries do (Get checks
	// answers against shopedge's OpenAPI document).
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ready"}`)
	})
	http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE fake_total counter")
		for i := 0; i < 10; i++ {
			fmt.Fprintf(w, "fake_total{n=\"%d\"} %d\n", i, i)
		}
		fmt.Fprintln(w, os.Getenv("FAKE_METRIC_LINE"))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", r.Header.Get("X-Request-ID"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"no route"}}`)
	})
	go http.Serve(ln, nil)
	fmt.Printf("{\"level\":\"info\",\"message\":\"serving\",\"addr\":%q}\n", ln.Addr().String())
	<-sigs
	if hang {
		select {}
	}
	code, _ := strconv.Atoi(os.Getenv("FAKE_EXIT_CODE"))
	os.Exit(code)
}
