package reader

import (
	"fmt"
	"strconv"
)

// userPrompt is one allocation holding a single-turn conversation: the
// Messages and Text slices of a record with a "prompt" both point into it.
type userPrompt struct {
	msg  [1]Message
	text [1]Content
}

// promptMessages returns a conversation of one user message holding text.
func promptMessages(text string) []Message {
	p := &userPrompt{}
	p.text[0].Text = text
	p.msg[0] = Message{Role: "user", Content: p.text[:]}
	return p.msg[:]
}

// fieldError is a problem with one field of a record, before its Origin is
// known.
type fieldError struct {
	field, reason string
}

// parseMessages decodes a validated JSON "messages" value:
//
//	[{"role": "user"|"assistant", "content": "text" | [{"text": "..."}, ...]}, ...]
func parseMessages(v []byte, scratch *[]byte) ([]Message, *fieldError) {
	if len(v) == 0 || v[0] != '[' {
		return nil, &fieldError{"messages", "must be an array, got " + kindOf(v)}
	}
	var (
		msgs []Message
		bad  *fieldError
	)
	forEachElement(v, func(i int, m []byte) bool {
		msg, err := parseMessage(m, scratch)
		if err != "" {
			bad = &fieldError{"messages", "messages[" + strconv.Itoa(i) + "]" + err}
			return false
		}
		msgs = append(msgs, msg)
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(msgs) == 0 {
		return nil, &fieldError{"messages", "must not be empty"}
	}
	return msgs, nil
}

// parseMessage decodes one element of "messages". The error is a suffix for
// a path such as "messages[2]".
func parseMessage(m []byte, scratch *[]byte) (Message, string) {
	if m[0] != '{' {
		return Message{}, " must be an object, got " + kindOf(m)
	}
	var role, content []byte
	forEachMember(m, func(key, val []byte) bool {
		switch {
		case keyIs(key, "role"):
			role = val
		case keyIs(key, "content"):
			content = val
		}
		return true
	})
	var msg Message
	switch {
	case isNull(role):
		return msg, `.role: missing`
	case role[0] != '"':
		return msg, `.role: must be "user" or "assistant", got ` + kindOf(role)
	}
	switch r := unquote(role, scratch); r {
	case "user", "assistant":
		msg.Role = r
	default:
		return msg, fmt.Sprintf(`.role: must be "user" or "assistant", got %q`, r)
	}
	switch {
	case isNull(content):
		return msg, ".content: missing"
	case content[0] == '"':
		text := unquote(content, scratch)
		if text == "" {
			return msg, ".content: must not be empty"
		}
		msg.Content = []Content{{Text: text}}
		return msg, ""
	case content[0] != '[':
		return msg, ".content: must be a string or an array of text blocks, got " + kindOf(content)
	}
	var bad string
	forEachElement(content, func(i int, block []byte) bool {
		at := ".content[" + strconv.Itoa(i) + "]"
		if block[0] != '{' {
			bad = at + ": must be an object, got " + kindOf(block)
			return false
		}
		var text []byte
		forEachMember(block, func(key, val []byte) bool {
			if keyIs(key, "text") {
				text = val
			}
			return true
		})
		switch {
		case isNull(text):
			bad = at + ": only text blocks are supported (no \"text\" field)"
		case text[0] != '"':
			bad = at + ".text: must be a string, got " + kindOf(text)
		default:
			s := unquote(text, scratch)
			if s == "" {
				bad = at + ".text: must not be empty"
				break
			}
			msg.Content = append(msg.Content, Content{Text: s})
		}
		return bad == ""
	})
	if bad != "" {
		return msg, bad
	}
	if len(msg.Content) == 0 {
		return msg, ".content: must not be empty"
	}
	return msg, ""
}
