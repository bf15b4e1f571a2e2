package jsonesc

import "testing"

func TestHex4(t *testing.T) {
	for _, c := range []struct {
		s    string
		i    int
		want rune
		ok   bool
	}{
		{"00e9", 0, 0xe9, true}, {"x00E9", 1, 0xe9, true}, {"D83D", 0, 0xd83d, true},
		{"00g9", 0, 0, false}, {"00e", 0, 0, false}, {"00e9", 1, 0, false}, {"00e9", -1, 0, false},
	} {
		r, ok := Hex4([]byte(c.s), c.i)
		if r != c.want || ok != c.ok {
			t.Errorf("Hex4(%q, %d) = %U %v, want %U %v", c.s, c.i, r, ok, c.want, c.ok)
		}
	}
}

func TestControl(t *testing.T) {
	want := map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
	for c := 0; c < 256; c++ {
		got, ok := Control(byte(c))
		w, wok := want[byte(c)]
		if got != w || ok != wok {
			t.Errorf("Control(%q) = %q %v, want %q %v", byte(c), got, ok, w, wok)
		}
	}
}
