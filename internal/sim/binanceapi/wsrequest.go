package binanceapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// streamRequest is a message a client sends on a stream connection, as
// Binance defines them: {"method":"SUBSCRIBE","params":[…],"id":1}.
type streamRequest struct {
	Method string
	Params []json.RawMessage
	ID     json.RawMessage // echoed as sent: a number, a string or null
}

// streamError is Binance's error answer on a stream connection.
type streamError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// maxStreamParams bounds the streams one request may name (Binance: 1024
// streams per connection).
const maxStreamParams = 1024

// parseStreamRequest reads a client's message. Errors use Binance's
// stream error codes: 0 unknown property, 1 invalid value type, 2 invalid
// request, 3 invalid JSON.
func parseStreamRequest(data []byte) (streamRequest, *streamError) {
	var raw struct {
		Method *string          `json:"method"`
		Params *json.RawMessage `json:"params"`
		ID     json.RawMessage  `json:"id"`
	}
	if !json.Valid(data) {
		return streamRequest{}, &streamError{Code: 3, Msg: "Invalid JSON: not a JSON document"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return streamRequest{}, &streamError{Code: 2, Msg: "Invalid request: " + err.Error()}
	}
	req := streamRequest{ID: raw.ID}
	if len(req.ID) > 0 {
		var id any
		if json.Unmarshal(req.ID, &id) != nil {
			return req, &streamError{Code: 1, Msg: "Invalid value type: expected Int or String"}
		}
		switch v := id.(type) {
		case float64, nil:
		case string:
			if len(v) > 64 {
				return req, &streamError{Code: 2, Msg: "Invalid request: id longer than 64 characters"}
			}
		default:
			return req, &streamError{Code: 1, Msg: "Invalid value type: expected Int or String"}
		}
	}
	if raw.Method == nil {
		return req, &streamError{Code: 2, Msg: "Invalid request: missing field 'method'"}
	}
	req.Method = *raw.Method
	if raw.Params != nil && string(*raw.Params) != "null" {
		if err := json.Unmarshal(*raw.Params, &req.Params); err != nil {
			return req, &streamError{Code: 1, Msg: "Invalid value type: 'params' must be an array"}
		}
	}
	if len(req.Params) > maxStreamParams {
		return req, &streamError{Code: 2, Msg: fmt.Sprintf("Invalid request: more than %d streams", maxStreamParams)}
	}
	return req, nil
}

// names reads the params as stream names.
func (r *streamRequest) names() ([]string, *streamError) {
	out := make([]string, 0, len(r.Params))
	for _, p := range r.Params {
		var n string
		if json.Unmarshal(p, &n) != nil || n == "" {
			return nil, &streamError{Code: 1, Msg: "Invalid value type: stream names are strings"}
		}
		out = append(out, n)
	}
	return out, nil
}

// request answers one client message on connection c.
func (h *hub) request(c *conn, data []byte) []byte {
	req, serr := parseStreamRequest(data)
	var result any
	if serr == nil {
		result, serr = h.apply(c, &req)
	}
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	var b []byte
	if serr != nil {
		b, _ = json.Marshal(struct {
			Error *streamError    `json:"error"`
			ID    json.RawMessage `json:"id"`
		}{serr, id})
	} else {
		b, _ = json.Marshal(struct {
			Result any             `json:"result"`
			ID     json.RawMessage `json:"id"`
		}{result, id})
	}
	return b
}

func (h *hub) apply(c *conn, req *streamRequest) (any, *streamError) {
	switch req.Method {
	case "SUBSCRIBE", "UNSUBSCRIBE":
		names, err := req.names()
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if req.Method == "SUBSCRIBE" && len(c.streams)+len(names) > maxStreamParams {
			return nil, &streamError{Code: 2, Msg: fmt.Sprintf("Invalid request: more than %d streams on one connection", maxStreamParams)}
		}
		for _, n := range names {
			if req.Method == "SUBSCRIBE" {
				h.subscribe(c, n)
			} else {
				h.unsubscribe(c, n)
			}
		}
		return nil, nil
	case "LIST_SUBSCRIPTIONS":
		h.mu.Lock()
		defer h.mu.Unlock()
		out := make([]string, 0, len(c.streams))
		for n := range c.streams {
			out = append(out, n)
		}
		slices.Sort(out)
		return out, nil
	case "SET_PROPERTY":
		if len(req.Params) != 2 || string(req.Params[0]) != `"combined"` {
			return nil, &streamError{Code: 0, Msg: "Unknown property"}
		}
		var v bool
		if json.Unmarshal(req.Params[1], &v) != nil {
			return nil, &streamError{Code: 1, Msg: "Invalid value type: expected Boolean"}
		}
		h.mu.Lock()
		c.combined = v
		h.mu.Unlock()
		return nil, nil
	case "GET_PROPERTY":
		if len(req.Params) != 1 || string(req.Params[0]) != `"combined"` {
			return nil, &streamError{Code: 0, Msg: "Unknown property"}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		return c.combined, nil
	}
	return nil, &streamError{Code: 2, Msg: fmt.Sprintf("Invalid request: unknown method %q", req.Method)}
}
