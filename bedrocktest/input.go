package bedrocktest

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
)

// MaxCachePoints is how many cachePoint blocks one request may carry, as for Claude.
const MaxCachePoints = 4

// inputInfo is what the input of a call weighs.
type inputInfo struct {
	tokens int64         // every input token: the CountTokens answer, and what admission reserves
	points []prefixPoint // the prefix ending at each cachePoint, in order
}

// prefixPoint is a cacheable prefix: everything before one cachePoint, in the order system,
// tools, messages.
type prefixPoint struct {
	tokens int64
	key    [16]byte // FNV-128a of the model id and the prefix's content
	long   bool     // ttl "1h"
}

// measure counts the call's input tokens: the words of every text (system, messages, tool
// results), the tool definitions (name, description and the schema's JSON text), tool uses
// in the history (name and input JSON text), images (ImageTokens) and documents
// (DocumentTokens). When the request has a cachePoint it also hashes the prefix before each.
func (c *call) measure() inputInfo {
	m := measurer{}
	if c.hasCachePoint() {
		m.h = fnv.New128a()
		m.str('m', c.modelID)
	}
	for i := range c.req.System {
		m.block(&c.req.System[i])
	}
	if tc := c.req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			switch {
			case t.ToolSpec != nil:
				s := t.ToolSpec
				m.tokens += CountTokens(s.Name) + CountTokens(s.Description) + CountTokens(string(s.InputSchema.JSON))
				m.str('T', s.Name)
				m.str('D', s.Description)
				m.bytes('S', s.InputSchema.JSON)
			case t.CachePoint != nil:
				m.point(t.CachePoint)
			}
		}
	}
	for i := range c.req.Messages {
		msg := &c.req.Messages[i]
		m.str('r', msg.Role)
		for j := range msg.Content {
			m.block(&msg.Content[j])
		}
	}
	return inputInfo{tokens: m.tokens, points: m.points}
}

// measurer adds up tokens and, when h is set, hashes the content it has seen so far.
type measurer struct {
	tokens int64
	h      hash.Hash
	points []prefixPoint
}

func (m *measurer) block(b *wireBlock) {
	switch {
	case b.Text != nil:
		m.tokens += CountTokens(*b.Text)
		m.str('t', *b.Text)
	case b.Image != nil:
		m.tokens += imageTokens(b.Image)
		m.str('i', b.Image.Format)
		m.source(&b.Image.Source)
	case b.Document != nil:
		d := b.Document
		m.tokens += documentTokens(d)
		m.str('d', d.Format)
		if d.Name != nil {
			m.str('n', *d.Name)
		}
		m.source(&d.Source)
	case b.ToolUse != nil:
		u := b.ToolUse
		m.tokens += CountTokens(u.Name) + CountTokens(string(u.Input))
		m.str('u', u.ToolUseID+"\x00"+u.Name)
		m.bytes('U', u.Input)
	case b.ToolResult != nil:
		m.str('R', b.ToolResult.ToolUseID)
		for _, part := range b.ToolResult.Content {
			if part.Text != nil {
				m.tokens += CountTokens(*part.Text)
				m.str('t', *part.Text)
			}
			if part.JSON != nil {
				m.tokens += CountTokens(string(part.JSON))
				m.bytes('j', part.JSON)
			}
		}
	case b.CachePoint != nil:
		m.point(b.CachePoint)
	}
}

func (m *measurer) source(s *mediaSource) {
	switch {
	case s.S3Location != nil:
		m.str('3', s.S3Location.URI)
	case s.Text != nil:
		m.str('t', *s.Text)
	case s.Content != nil:
		for _, b := range s.Content {
			if b.Text != nil {
				m.str('t', *b.Text)
			}
		}
	default:
		m.bytes('b', s.Bytes)
	}
}

func (m *measurer) point(cp *cachePointBlock) {
	if m.h == nil {
		return
	}
	p := prefixPoint{tokens: m.tokens, long: cp.TTL == "1h"}
	m.h.Sum(p.key[:0])
	m.points = append(m.points, p)
}

// str and bytes hash a tagged, length-prefixed field, so no two contents hash alike by
// running into each other.
func (m *measurer) str(tag byte, s string) {
	if m.h != nil {
		m.header(tag, len(s))
		m.h.Write([]byte(s))
	}
}

func (m *measurer) bytes(tag byte, b []byte) {
	if m.h != nil {
		m.header(tag, len(b))
		m.h.Write(b)
	}
}

func (m *measurer) header(tag byte, n int) {
	var hdr [9]byte
	hdr[0] = tag
	binary.BigEndian.PutUint64(hdr[1:], uint64(n))
	m.h.Write(hdr[:])
}

// eachCachePoint calls fn with the path and content of every cachePoint, in prefix order.
func (c *call) eachCachePoint(fn func(path string, cp *cachePointBlock)) {
	for i, b := range c.req.System {
		if b.CachePoint != nil {
			fn(fmt.Sprintf("system.%d", i), b.CachePoint)
		}
	}
	if tc := c.req.ToolConfig; tc != nil {
		for i, t := range tc.Tools {
			if t.CachePoint != nil {
				fn(fmt.Sprintf("toolConfig.tools.%d", i), t.CachePoint)
			}
		}
	}
	for i, m := range c.req.Messages {
		for j, b := range m.Content {
			if b.CachePoint != nil {
				fn(fmt.Sprintf("messages.%d.content.%d", i, j), b.CachePoint)
			}
		}
	}
}

// hasCachePoint reports whether the request has any cachePoint, without formatting paths.
func (c *call) hasCachePoint() bool {
	for _, b := range c.req.System {
		if b.CachePoint != nil {
			return true
		}
	}
	if tc := c.req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			if t.CachePoint != nil {
				return true
			}
		}
	}
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			if b.CachePoint != nil {
				return true
			}
		}
	}
	return false
}

// validateCachePoints checks each cachePoint's type and ttl, and their number.
func (c *call) validateCachePoints(*Options) string {
	if !c.hasCachePoint() {
		return ""
	}
	var msg string
	n := 0
	c.eachCachePoint(func(path string, cp *cachePointBlock) {
		n++
		switch {
		case msg != "":
		case cp.Type != "default":
			msg = enumError(cp.Type, path+".cachePoint.type", "default")
		case cp.TTL != "" && cp.TTL != "5m" && cp.TTL != "1h":
			msg = enumError(cp.TTL, path+".cachePoint.ttl", "5m, 1h")
		}
	})
	if msg == "" && n > MaxCachePoints {
		msg = modelError("A maximum of %d blocks with cache_control may be provided. Found %d.", MaxCachePoints, n)
	}
	return msg
}
