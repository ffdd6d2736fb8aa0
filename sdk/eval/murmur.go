package eval

// MurmurHash3_x86_32 constants (Austin Appleby, public domain reference
// implementation MurmurHash3.cpp).
const (
	murmurC1 uint32 = 0xcc9e2d51
	murmurC2 uint32 = 0x1b873593
)

// murmur3 is a streaming MurmurHash3_x86_32 state. The hash of a sequence
// of writes equals the hash of the concatenation of the written strings, so
// callers can hash "seed:id" without building that string. The zero value
// is a hasher with seed 0. It is a small value type: copying it forks the
// stream, which lets Compile precompute the state after a flag's salt.
type murmur3 struct {
	h      uint32 // running hash over completed 4-byte blocks
	tail   uint32 // pending bytes, little-endian
	ntail  uint32 // number of pending bytes (0..3)
	length uint32 // total bytes written (mod 2^32, as in the reference)
}

// newMurmur3 returns a hasher with the given seed.
func newMurmur3(seed uint32) murmur3 { return murmur3{h: seed} }

func mixK(k uint32) uint32 {
	k *= murmurC1
	k = k<<15 | k>>17
	k *= murmurC2
	return k
}

func (m *murmur3) block(k uint32) {
	m.h ^= mixK(k)
	m.h = m.h<<13 | m.h>>19
	m.h = m.h*5 + 0xe6546b64
}

// writeString feeds the UTF-8 bytes of s into the hash.
func (m *murmur3) writeString(s string) {
	m.length += uint32(len(s))
	i := 0
	// Complete a pending partial block first.
	for m.ntail != 0 && i < len(s) {
		m.tail |= uint32(s[i]) << (8 * m.ntail)
		m.ntail++
		i++
		if m.ntail == 4 {
			m.block(m.tail)
			m.tail, m.ntail = 0, 0
		}
	}
	// Whole blocks straight from the string.
	for ; i+4 <= len(s); i += 4 {
		m.block(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
	}
	// Keep the remainder for later.
	for ; i < len(s); i++ {
		m.tail |= uint32(s[i]) << (8 * m.ntail)
		m.ntail++
	}
}

// sum returns the final hash without modifying the state.
func (m murmur3) sum() uint32 {
	h := m.h
	if m.ntail != 0 {
		h ^= mixK(m.tail)
	}
	h ^= m.length
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Murmur3 returns MurmurHash3_x86_32 of the UTF-8 bytes of s with the given
// seed. Waypost always uses seed 0; the parameter exists for reference tests.
func Murmur3(s string, seed uint32) uint32 {
	m := newMurmur3(seed)
	m.writeString(s)
	return m.sum()
}

// writeByte feeds one byte into the hash.
func (m *murmur3) writeByte(b byte) {
	m.length++
	m.tail |= uint32(b) << (8 * m.ntail)
	m.ntail++
	if m.ntail == 4 {
		m.block(m.tail)
		m.tail, m.ntail = 0, 0
	}
}

// writeInt feeds the shortest decimal form of x (a leading "-" when
// negative), as JavaScript's String(x) writes a safe integer.
func (m *murmur3) writeInt(x int64) {
	if x < 0 {
		m.writeByte('-')
		x = -x
	}
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			break
		}
	}
	for ; i < len(buf); i++ {
		m.writeByte(buf[i])
	}
}
