package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func kekGen() *rapid.Generator[*KEK] {
	return rapid.Custom(func(t *rapid.T) *KEK {
		k, err := NewKEK(rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "kek"))
		if err != nil {
			t.Fatal(err)
		}
		return k
	})
}

func TestSealOpenRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := kekGen().Draw(t, "k")
		pt := rapid.SliceOf(rapid.Byte()).Draw(t, "plaintext")
		ad := rapid.SliceOf(rapid.Byte()).Draw(t, "ad")
		sealed := k.Seal(pt, ad)
		if bytes.Contains([]byte(sealed), pt) && len(pt) > 3 {
			t.Fatalf("sealed value shows the plaintext")
		}
		got, err := k.Open(sealed, ad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		if id, err := KEKOf(sealed); err != nil || id != k.ID() {
			t.Fatalf("KEKOf = %q, %v; want %q", id, err, k.ID())
		}
	})
}

func TestSealIsFreshEachTime(t *testing.T) {
	k, _ := ParseKEK(GenerateKEK())
	if a, b := k.Seal([]byte("s"), nil), k.Seal([]byte("s"), nil); a == b {
		t.Fatal("two seals of the same secret are equal: data key or nonce reused")
	}
}

func TestTamperIsDetected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := kekGen().Draw(t, "k")
		pt := rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "plaintext")
		ad := []byte("acc_1")
		raw, _ := base64.StdEncoding.DecodeString(k.Seal(pt, ad))
		i := rapid.IntRange(0, len(raw)-1).Draw(t, "byte")
		bit := byte(1) << rapid.IntRange(0, 7).Draw(t, "bit")
		raw[i] ^= bit
		_, err := k.Open(base64.StdEncoding.EncodeToString(raw), ad)
		if err == nil {
			t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("err = %v, want ErrCorrupt or ErrWrongKEK", err)
		}
	})
}

func TestOtherRowDoesNotOpen(t *testing.T) {
	k, _ := ParseKEK(GenerateKEK())
	s := k.Seal([]byte("secret"), []byte("acc_1"))
	if _, err := k.Open(s, []byte("acc_2")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open for another row: %v, want ErrCorrupt", err)
	}
}

func TestWrongKEK(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := kekGen().Draw(t, "a"), kekGen().Draw(t, "b")
		if a.ID() == b.ID() {
			t.Skip("same key drawn")
		}
		s := a.Seal([]byte("secret"), nil)
		if _, err := b.Open(s, nil); !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("Open with another KEK: %v, want ErrWrongKEK", err)
		}
	})
}

func TestRewrap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old, next := kekGen().Draw(t, "old"), kekGen().Draw(t, "next")
		if old.ID() == next.ID() {
			t.Skip("same key drawn")
		}
		pt := rapid.SliceOf(rapid.Byte()).Draw(t, "plaintext")
		ad := []byte("acc_9")
		s := old.Seal(pt, ad)
		r, err := Rewrap(old, next, s, ad)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := next.Open(r, ad); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("after rewrap Open = %q, %v", got, err)
		}
		if _, err := old.Open(r, ad); !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("old KEK still opens the rewrapped value: %v", err)
		}
		// Twice is harmless (an interrupted rotation is run again).
		if r2, err := Rewrap(old, next, r, ad); err != nil || r2 != r {
			t.Fatalf("second rewrap = %v, changed %v", err, r2 != r)
		}
		// A third KEK cannot rewrap it.
		if _, err := Rewrap(kekGen().Draw(t, "third"), old, r, ad); err == nil {
			t.Fatal("rewrap without the KEK it is sealed under succeeded")
		}
	})
}

func TestLoadKEK(t *testing.T) {
	text := GenerateKEK()
	want, _ := ParseKEK(text)
	file := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(file, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == EnvKEK {
				return v
			}
			return ""
		}
	}
	if k, err := LoadKEK(file, env("")); err != nil || k.ID() != want.ID() {
		t.Fatalf("from file: %v, %v", k, err)
	}
	if k, err := LoadKEK("", env(text)); err != nil || k.ID() != want.ID() {
		t.Fatalf("from env: %v, %v", k, err)
	}
	hexText := strings.Repeat("ab", KeySize)
	if _, err := LoadKEK("", env(hexText)); err != nil {
		t.Fatalf("hex: %v", err)
	}
	if _, err := LoadKEK("", env("")); !errors.Is(err, ErrNoKEK) {
		t.Fatalf("none: %v", err)
	}
	if _, err := LoadKEK("", env("short")); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("bad env value: %v (must fail without echoing it)", err)
	}
	if s := want.String(); strings.Contains(s, text) || !strings.HasPrefix(s, "kek:") {
		t.Fatalf("String = %q", s)
	}
}

func TestFingerprint(t *testing.T) {
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Fatalf("Fingerprint(abc) = %s", got)
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := NewKEK(bytes.Repeat([]byte{7}, KeySize))
	f.Add(k.Seal([]byte("secret"), []byte("ad")))
	f.Add("")
	f.Add("VFMx")
	f.Fuzz(func(t *testing.T, sealed string) {
		pt, err := k.Open(sealed, []byte("ad"))
		if err == nil {
			// Only a value sealed under k opens: re-encoding it is stable.
			if e, derr := decode(sealed); derr != nil || e.encode() != sealed {
				t.Fatalf("opened %q (%q) but it does not re-encode", sealed, pt)
			}
			return
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("Open(%q): untyped error %v", sealed, err)
		}
	})
}
