//! A Merkle tree over the lines of a file, as RFC 6962 §2.1 with BLAKE3:
//! leaf = H(0x00 ‖ line), node = H(0x01 ‖ left ‖ right), split at the largest
//! power of two below n; the empty tree is H("").

/// The hash of one leaf (a line without its newline).
pub fn leaf(line: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[0]);
    h.update(line);
    *h.finalize().as_bytes()
}

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[1]);
    h.update(l);
    h.update(r);
    *h.finalize().as_bytes()
}

/// The root over leaf hashes.
pub fn root_of_leaves(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => *blake3::hash(b"").as_bytes(),
        1 => leaves[0],
        n => {
            // The largest power of two strictly below n: the top bit of n − 1.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node(&root_of_leaves(&leaves[..k]), &root_of_leaves(&leaves[k..]))
        }
    }
}

/// The root over lines.
pub fn root<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = lines.into_iter().map(leaf).collect();
    root_of_leaves(&leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_follows_rfc6962() {
        let l: Vec<&[u8]> = vec![b"a", b"b", b"c"];
        // n = 3 splits 2 + 1.
        let expect = node(&node(&leaf(b"a"), &leaf(b"b")), &leaf(b"c"));
        assert_eq!(root(l.iter().copied()), expect);
        let four: Vec<&[u8]> = vec![b"a", b"b", b"c", b"d"];
        let expect4 = node(&node(&leaf(b"a"), &leaf(b"b")), &node(&leaf(b"c"), &leaf(b"d")));
        assert_eq!(root(four.iter().copied()), expect4);
        assert_ne!(root([b"a" as &[u8], b"b"]), root([b"b" as &[u8], b"a"]));
        assert_eq!(root(std::iter::empty()), *blake3::hash(b"").as_bytes());
    }
}
