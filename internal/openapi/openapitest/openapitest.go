// Package openapitest checks HTTP exchanges with shopedge's binaries
// against the OpenAPI document (internal/openapi) with kin-openapi
// (github.com/getkin/kin-openapi), so the document cannot drift from what
// the servers do. Tests only: it links kin-openapi, the binaries do not.
//
// kin-openapi v0.153.0 loads and validates OpenAPI 3.1 documents
// (doc.Validate switches to its 3.1 rules when "openapi" is 3.1.x) and
// validates request and response bodies of a 3.1 document with its JSON
// Schema 2020-12 validator (openapi3filter turns EnableJSONSchema2020 on
// for 3.1 documents). What it lacks of 3.1 (webhooks routing, $dynamicRef)
// this document does not use.
//
// The rules, for one request and the answer it got:
//   - a request the document describes (its route, parameters, security
//     and body) must get a status its operation lists, with a body of that
//     response's schema;
//   - a request it does not describe (an unknown path or method, a missing
//     or malformed parameter, a bad body, no token) must still get an
//     answer its operation lists, and that answer must be an error (status
//     400 or more); one to an unknown route must be a 4xx error envelope;
//   - a request to a route the document gives only to the other tier must
//     get a 4xx error envelope (an edge never serves the admin product
//     routes, a core never the product pages).
//
// A request with a body and no Content-Type is read as the operation's
// media type, as both servers do (they do not look at Content-Type).
package openapitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"shopedge/internal/openapi"
)

func init() {
	// Bodies validated as strings: HTML pages, NDJSON streams.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
}

// Validator checks exchanges against one loaded document. It is safe for
// concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// New loads the embedded document and validates it as OpenAPI 3.1.
func New() (*Validator, error) {
	return Load(openapi.Full())
}

// Load is New for the document in data (tests break a copy of it).
func Load(data []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("cannot load the OpenAPI document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		return nil, fmt.Errorf("the OpenAPI document is version %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	// Match paths on any host: the tests' servers listen on free ports.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot route the OpenAPI document: %w", err)
	}
	return &Validator{doc: doc, router: r}, nil
}

// Doc returns the loaded document (read only).
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Exchange is one request and the answer it got, as the client saw them.
type Exchange struct {
	// Tier is the binary that answered ("" when unknown: any tier).
	Tier          openapi.Tier
	Method, URL   string
	RequestHeader http.Header
	RequestBody   []byte
	Status        int
	Header        http.Header
	Body          []byte
}

// Check returns why x does not conform to the document, or nil.
func (v *Validator) Check(x Exchange) error {
	if err := v.check(x); err != nil {
		return fmt.Errorf("OpenAPI: %s %s → %d: %w", x.Method, x.URL, x.Status, err)
	}
	return nil
}

func (v *Validator) check(x Exchange) error {
	req, err := http.NewRequest(x.Method, x.URL, bytes.NewReader(x.RequestBody))
	if err != nil {
		return err
	}
	if x.RequestHeader != nil {
		req.Header = x.RequestHeader.Clone()
	}
	body, err := decoded(x.Header, x.Body)
	if err != nil {
		return err
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		// Not a route of the document: an error envelope, 4xx.
		return v.errorAnswer(x, body, fmt.Sprintf("not a route of the document (%v)", err), true)
	}
	if x.Tier != "" && !slices.Contains(tiers(route.Operation), string(x.Tier)) {
		return v.errorAnswer(x, body, fmt.Sprintf("%s is not served by the %s (x-shopedge-tiers)", route.Operation.OperationID, x.Tier), true)
	}
	if len(x.RequestBody) > 0 && req.Header.Get("Content-Type") == "" && route.Operation.RequestBody != nil {
		for mt := range route.Operation.RequestBody.Value.Content {
			req.Header.Set("Content-Type", mt)
		}
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearerPresent}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && x.Status < 400 {
		return fmt.Errorf("the request does not conform (%v), yet it was answered %d", firstLine(reqErr), x.Status)
	}
	ropts := &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: x.Method == http.MethodHead || x.Status == http.StatusNotModified}
	in.Options = ropts
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.Status, Header: x.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: ropts,
	})
	if err != nil {
		if reqErr != nil {
			return fmt.Errorf("answer to a non-conforming request (%v): %v", firstLine(reqErr), firstLine(err))
		}
		return fmt.Errorf("the response does not conform: %v", firstLine(err))
	}
	return nil
}

// errorAnswer checks that x's answer is a 4xx (when clientError) error
// envelope (a HEAD's has no body).
func (v *Validator) errorAnswer(x Exchange, body []byte, why string, clientError bool) error {
	if x.Status < 400 || clientError && x.Status >= 500 {
		return fmt.Errorf("%s, yet it was answered %d", why, x.Status)
	}
	if x.Method == http.MethodHead {
		return nil
	}
	var doc any
	if err := jsonUnmarshal(body, &doc); err != nil {
		return fmt.Errorf("%s, and its %d answer is not JSON: %.200q", why, x.Status, body)
	}
	schema := v.doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(doc, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("%s, and its %d answer is not the error envelope: %v", why, x.Status, firstLine(err))
	}
	return nil
}

// tiers returns an operation's x-shopedge-tiers.
func tiers(op *openapi3.Operation) []string {
	var out []string
	l, _ := op.Extensions["x-shopedge-tiers"].([]any)
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// bearerPresent accepts a request carrying a bearer token: whether it is
// the right one is the server's to say (401, which the document lists).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok && strings.TrimSpace(tok) != "" {
		return nil
	}
	return errors.New("no bearer token")
}

// decoded returns body, gunzipped when the answer says it is gzip.
func decoded(h http.Header, body []byte) ([]byte, error) {
	if h == nil || !strings.EqualFold(h.Get("Content-Encoding"), "gzip") || len(body) == 0 {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("Content-Encoding gzip, but the body is not: %w", err)
	}
	return io.ReadAll(zr)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
