package eval

// Buckets is the number of buckets a user can fall into: weights and
// experiment traffic are expressed in basis points of this range.
const Buckets = 10000

// Bucket returns the bucket, in [0, Buckets), of user id under the given
// seed: floor(h * 10000 / 2^32) where h is MurmurHash3_x86_32 (seed 0) of
// the UTF-8 bytes of seed + ":" + id. It does not allocate.
//
// Flag rollouts use seed = salt; experiment traffic uses
// seed = salt + "." + experimentKey.
func Bucket(seed, id string) int {
	var m murmur3
	m.writeString(seed)
	m.writeString(":")
	m.writeString(id)
	return scale(m.sum())
}

// HashKey returns the 32-bit hash underlying Bucket(seed, id).
func HashKey(seed, id string) uint32 {
	var m murmur3
	m.writeString(seed)
	m.writeString(":")
	m.writeString(id)
	return m.sum()
}

// scale maps a 32-bit hash onto [0, Buckets) by multiply-shift.
func scale(h uint32) int {
	return int(uint64(h) * Buckets >> 32)
}

// prefixHasher returns the hash state after writing seed + ":", so that a
// bucket for a user needs only to stream the user id.
func prefixHasher(seed string) murmur3 {
	var m murmur3
	m.writeString(seed)
	m.writeString(":")
	return m
}

// bucketFrom finishes a prefix state with the user id.
func bucketFrom(prefix murmur3, id string) int {
	prefix.writeString(id)
	return scale(prefix.sum())
}
