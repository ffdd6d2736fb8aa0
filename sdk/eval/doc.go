// Package eval is the reference implementation of Waypost flag
// evaluation: the one function every Waypost SDK implements.
//
// A provider emits one environment's flags as a FlagSet (JSON wire
// format). Compile validates it and precomputes everything evaluation
// needs, producing an immutable Snapshot. Snapshot.Evaluate and the typed
// getters (Bool, String, Float, Int, JSON) then resolve a flag for a user
// id without allocating, so an SDK can evaluate on every request and swap
// snapshots atomically when a new revision arrives.
//
// Evaluation order, in short (docs/evaluation.md is normative):
//
//  1. unknown flag: caller's default, ERROR / FLAG_NOT_FOUND;
//  2. disabled flag: off variant, DISABLED;
//  3. user individually assigned: that variant, TARGETING_MATCH;
//  4. running experiment: users inside the experiment's traffic get a
//     rollout split (SPLIT, with the experiment key); others and anonymous
//     callers get the experiment's fallback variant, the off variant
//     unless it names another (DEFAULT);
//  5. rollout: a 100% variant is STATIC; anonymous callers get the off
//     variant (DEFAULT); others are bucketed (SPLIT);
//  6. a getter whose type does not match the flag's kind returns the
//     caller's default, ERROR / TYPE_MISMATCH.
//
// Bucketing is floor(murmur3_x86_32(seed + ":" + id) * 10000 / 2^32), see
// Bucket. The shared test vectors in sdk/testdata/evaluation-cases.json
// pin the behaviour for every SDK.
package eval
