// Package openapi holds shopedge's OpenAPI 3.1 document (openapi.json, in
// this directory) and serves it at GET /openapi.json.
//
// The file describes every route of both binaries: each operation names
// the tiers that serve it (x-shopedge-tiers: edge, core) and its audience
// (x-shopedge-audience: public, admin, internal). A binary serves the part
// it answers: an edge its public operations only (it is the public
// boundary and never advertises the admin API, the internal feed or its
// operations routes), a core every operation it serves. The document lives
// here, beside the code that embeds it, because go:embed reads only files
// under the embedding package and the top level of the tree holds only the
// tiers (DESIGN.md). The tests in openapitest load it with kin-openapi and
// the end-to-end suites check every request and response against it.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

//go:embed openapi.json
var full []byte

// Tier names a binary.
type Tier string

// The tiers, as x-shopedge-tiers names them.
const (
	Edge Tier = "edge"
	Core Tier = "core"
)

// Full returns a copy of the whole document.
func Full() []byte { return slices.Clone(full) }

// Document returns the JSON document tier serves: the operations it
// serves (on an edge, the public ones only), the components they refer
// to, and no servers (a served document describes the server it came
// from). It fails only on a malformed embedded file, which the tests rule
// out.
func Document(tier Tier) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(full, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	tags := map[string]bool{}
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		keep := map[string]any{}
		for method, o := range ops {
			op, _ := o.(map[string]any)
			if !Serves(op, tier) {
				continue
			}
			keep[method] = op
			for _, t := range asList(op["tags"]) {
				tags[t] = true
			}
		}
		if len(keep) > 0 {
			kept[p] = keep
		}
	}
	doc["paths"] = kept
	delete(doc, "servers")
	if list, ok := doc["tags"].([]any); ok {
		doc["tags"] = slices.DeleteFunc(list, func(t any) bool {
			m, _ := t.(map[string]any)
			name, _ := m["name"].(string)
			return !tags[name]
		})
	}
	pruneComponents(doc)
	return json.MarshalIndent(doc, "", " ")
}

// Serves reports whether the operation op (a decoded Operation object) is
// part of tier's document.
func Serves(op map[string]any, tier Tier) bool {
	if !slices.Contains(asList(op["x-shopedge-tiers"]), string(tier)) {
		return false
	}
	return tier != Edge || op["x-shopedge-audience"] == "public"
}

// pruneComponents drops the components doc's paths do not reach (through
// $ref, transitively) and the security schemes no operation names.
func pruneComponents(doc map[string]any) {
	comps, _ := doc["components"].(map[string]any)
	reached := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok && !reached[r] {
				reached[r] = true
				if parts := strings.Split(strings.TrimPrefix(r, "#/components/"), "/"); len(parts) == 2 {
					section, _ := comps[parts[0]].(map[string]any)
					walk(section[parts[1]])
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc["paths"])
	schemes := map[string]bool{}
	for _, item := range doc["paths"].(map[string]any) {
		for _, o := range item.(map[string]any) {
			sec, _ := o.(map[string]any)["security"].([]any)
			for _, req := range sec {
				for name := range req.(map[string]any) {
					schemes[name] = true
				}
			}
		}
	}
	for section, v := range comps {
		entries, _ := v.(map[string]any)
		for name := range entries {
			if section == "securitySchemes" && !schemes[name] ||
				section != "securitySchemes" && !reached["#/components/"+section+"/"+name] {
				delete(entries, name)
			}
		}
		if len(entries) == 0 {
			delete(comps, section)
		}
	}
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Register mounts GET /openapi.json on r, serving tier's
// document. It panics only when the embedded file is malformed (a build
// the tests reject).
func Register(r *router.Router, tier Tier) {
	body, err := Document(tier)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	h := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("application/json")
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "public, max-age=300")
		ctx.SetBody(body)
	}
	r.GET("/openapi.json", h)
}
