package hyperliquid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// Obj is a JSON object whose keys keep their order: Hyperliquid hashes an
// action's msgpack encoding, in which the order of the keys matters.
// Values are string, bool, nil, int, int64, uint64, []any and Obj.
type Obj []KV

// KV is one key of an Obj.
type KV struct {
	K string
	V any
}

// MarshalJSON writes the object with its keys in order.
func (o Obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.K)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(kv.V)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", kv.K, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the value of key k (nil when absent).
func (o Obj) Get(k string) any {
	for _, kv := range o {
		if kv.K == k {
			return kv.V
		}
	}
	return nil
}

// Msgpack encodes v as Hyperliquid's reference encoder does: maps in
// their key order, integers in their shortest form, strings as str.
func Msgpack(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	if err := pack(enc, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func pack(enc *msgpack.Encoder, v any) error {
	switch x := v.(type) {
	case nil:
		return enc.EncodeNil()
	case string:
		return enc.EncodeString(x)
	case bool:
		return enc.EncodeBool(x)
	case int:
		return enc.EncodeInt(int64(x))
	case int64:
		return enc.EncodeInt(x)
	case uint64:
		return enc.EncodeUint(x)
	case []any:
		if err := enc.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, e := range x {
			if err := pack(enc, e); err != nil {
				return err
			}
		}
		return nil
	case Obj:
		if err := enc.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, kv := range x {
			if err := enc.EncodeString(kv.K); err != nil {
				return err
			}
			if err := pack(enc, kv.V); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("msgpack: cannot encode a %T", v)
}

// ParseObj reads a JSON object keeping its keys' order (numbers become
// int64, or uint64 when too large; fractions are refused: actions carry
// prices and sizes as strings). It is how a server recomputes the hash of
// an action it received.
func ParseObj(data []byte) (Obj, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the object")
	}
	o, ok := v.(Obj)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

const maxDepth = 32

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Obj{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, KV{k, v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		var u uint64
		if _, err := fmt.Sscan(t.String(), &u); err == nil && fmt.Sprint(u) == t.String() {
			return u, nil
		}
		return nil, fmt.Errorf("number %s is not an integer", t)
	}
	return tok, nil // string, bool, nil
}
