package eval

import (
	"strings"
	"testing"
)

// Reference vectors of MurmurHash3_x86_32, cross-checked against the
// reference C implementation (MurmurHash3.cpp) and the pure-Python port in
// sdk/testdata/check_buckets.py.
var murmurVectors = []struct {
	in   string
	seed uint32
	want uint32
}{
	{"", 0, 0},
	{"", 1, 0x514e28b7},
	{"", 0xffffffff, 0x81f16f39},
	{"hello", 0, 0x248bfa47},
	{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
	{"test", 0, 0xba6bd213},
	{"Hello, world!", 0, 0xc0363e43},
	{"Hello, world!", 0x9747b28c, 0x24884cba},
	{"aaaa", 0, 0x7eeed987},
	{"3f9a1c0d2b7e4a11:user-1", 0, 0x6aabbeb4},
	{"salt:用户-42", 0, 0xeea5e406},
	{"s:🚀", 0, 0xfbcf1e44},
}

func TestMurmur3Vectors(t *testing.T) {
	for _, v := range murmurVectors {
		if got := Murmur3(v.in, v.seed); got != v.want {
			t.Errorf("Murmur3(%q, %#x) = %#08x, want %#08x", v.in, v.seed, got, v.want)
		}
	}
}

// Streaming over any split of the input must equal hashing it whole.
func TestMurmur3Streaming(t *testing.T) {
	inputs := []string{"", "a", "ab", "abc", "abcd", "abcde", "The quick brown fox jumps over the lazy dog", "用户-42:ünïcödé🚀"}
	for _, s := range inputs {
		want := Murmur3(s, 0)
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				var m murmur3
				m.writeString(s[:i])
				m.writeString(s[i:j])
				m.writeString(s[j:])
				if got := m.sum(); got != want {
					t.Fatalf("split %q|%q|%q = %#x, want %#x", s[:i], s[i:j], s[j:], got, want)
				}
			}
		}
	}
}

func TestBucketMatchesConcatenation(t *testing.T) {
	for _, v := range []struct{ seed, id string }{
		{"3f9a1c0d2b7e4a11", "user-1"}, {"salt", "用户-42"}, {"s", "🚀"}, {"", ""}, {"abc", "defgh"},
	} {
		h := Murmur3(v.seed+":"+v.id, 0)
		if got := HashKey(v.seed, v.id); got != h {
			t.Errorf("HashKey(%q, %q) = %#x, want %#x", v.seed, v.id, got, h)
		}
		want := int(uint64(h) * 10000 / (1 << 32))
		if got := Bucket(v.seed, v.id); got != want {
			t.Errorf("Bucket(%q, %q) = %d, want %d", v.seed, v.id, got, want)
		}
		if got := bucketFrom(prefixHasher(v.seed), v.id); got != want {
			t.Errorf("bucketFrom(%q, %q) = %d, want %d", v.seed, v.id, got, want)
		}
	}
}

func TestScaleBounds(t *testing.T) {
	if got := scale(0); got != 0 {
		t.Errorf("scale(0) = %d", got)
	}
	if got := scale(0xffffffff); got != Buckets-1 {
		t.Errorf("scale(max) = %d, want %d", got, Buckets-1)
	}
	// Bucket b starts at ceil(b * 2^32 / 10000).
	for _, b := range []uint64{1, 5000, 9999} {
		start := uint32((b<<32 + Buckets - 1) / Buckets)
		if scale(start) != int(b) || scale(start-1) != int(b)-1 {
			t.Errorf("bucket %d boundary wrong", b)
		}
	}
}

func TestBucketNoAlloc(t *testing.T) {
	id := strings.Repeat("x", 37)
	if n := testing.AllocsPerRun(100, func() { _ = Bucket("salt", id) }); n != 0 {
		t.Errorf("Bucket allocates %v times", n)
	}
}
