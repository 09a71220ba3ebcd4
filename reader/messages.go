package reader

import "fmt"

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

// parseMessages decodes a validated JSON messages value:
//
//	[{"role": "user"|"assistant", "content": "text" | [block, ...]}, ...]
//
// where a block is any Converse content block parseBlock reads. path names
// the value in errors ("messages", "modelInput.messages").
func parseMessages(v []byte, path string, scratch *[]byte) ([]Message, *fieldError) {
	if len(v) == 0 || v[0] != '[' {
		return nil, &fieldError{path, "must be an array, got " + kindOf(v)}
	}
	var (
		msgs []Message
		bad  *fieldError
	)
	forEachElement(v, func(i int, m []byte) bool {
		msg, err := parseMessage(m, scratch)
		if err != nil {
			bad = err.under(path + index(i))
			return false
		}
		msgs = append(msgs, msg)
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(msgs) == 0 {
		return nil, &fieldError{path, "must not be empty"}
	}
	return msgs, nil
}

// parseMessage decodes one element of a messages array; the error's field
// is relative to the element.
func parseMessage(m []byte, scratch *[]byte) (Message, *fieldError) {
	if m[0] != '{' {
		return Message{}, &fieldError{"", "must be an object, got " + kindOf(m)}
	}
	role, content := roleAndContent(m)
	var msg Message
	switch {
	case isNull(role):
		return msg, &fieldError{".role", "missing"}
	case role[0] != '"':
		return msg, &fieldError{".role", `must be "user" or "assistant", got ` + kindOf(role)}
	}
	switch r := roleName(role, scratch); r {
	case "user", "assistant":
		msg.Role = r
	default:
		return msg, &fieldError{".role", fmt.Sprintf(`must be "user" or "assistant", got %q`, r)}
	}
	switch {
	case isNull(content):
		return msg, &fieldError{".content", "missing"}
	case content[0] == '"':
		text := unquote(content, scratch)
		if text == "" {
			return msg, &fieldError{".content", "must not be empty"}
		}
		msg.Content = []Content{{Text: text}}
		return msg, nil
	case content[0] != '[':
		return msg, &fieldError{".content", "must be a string or an array of content blocks, got " + kindOf(content)}
	}
	var bad *fieldError
	forEachElement(content, func(i int, block []byte) bool {
		c, err := parseBlock(block, scratch)
		if err != nil {
			bad = err.under(".content" + index(i))
			return false
		}
		msg.Content = append(msg.Content, c)
		return true
	})
	if bad != nil {
		return msg, bad
	}
	if len(msg.Content) == 0 {
		return msg, &fieldError{".content", "must not be empty"}
	}
	return msg, nil
}

// withMedia puts media blocks before the content of the first user message
// (documents, then images, then what the message had), or, when there are
// no messages, makes one user message of them.
func withMedia(msgs []Message, media []Content) []Message {
	if len(media) == 0 {
		return msgs
	}
	for i := range msgs {
		if msgs[i].Role == "user" {
			msgs[i].Content = append(media, msgs[i].Content...)
			return msgs
		}
	}
	return append(msgs, Message{Role: "user", Content: media})
}

// roleName is the text of a JSON role string; the two valid roles are
// returned as constants, so a message costs no allocation for its role.
func roleName(v []byte, scratch *[]byte) string {
	switch string(v) {
	case `"user"`:
		return "user"
	case `"assistant"`:
		return "assistant"
	}
	return unquote(v, scratch)
}

// roleAndContent returns the raw "role" and "content" values of a message
// object (nil when absent).
func roleAndContent(m []byte) (role, content []byte) {
	forEachMember(m, func(key, val []byte) bool {
		switch {
		case keyIs(key, "role"):
			role = val
		case keyIs(key, "content"):
			content = val
		}
		return true
	})
	return role, content
}
