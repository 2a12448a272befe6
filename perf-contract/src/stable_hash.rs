//! A hash that names things in stored files (a machine, a plan): FNV-1a
//! over bytes, spelled out, because `std`'s hasher is not promised to give
//! the same value in another Rust version, and a stored name must not move.

/// 12 hex digits of the 64-bit FNV-1a hash of `bytes`.
pub fn short_hash(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h >> 16)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_of_known_bytes_does_not_move() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; the top 48 bits are kept.
        assert_eq!(super::short_hash(*b"a"), "af63dc4c8601");
    }
}
