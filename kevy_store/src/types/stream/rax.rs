//! How many nodes Redis's radix tree ("rax") would use to index a stream's
//! blocks, for `XINFO STREAM`'s `radix-tree-nodes`. kevy keeps its blocks
//! in a persistent B-tree instead; the count is that of the compressed
//! radix tree over the blocks' 16-byte big-endian master IDs, built the way
//! rax builds it: a run of bytes shared by every key below a point is one
//! (compressed) node, a byte where keys diverge is one node with a child
//! per distinct byte, and each key ends in a leaf node. The empty tree is
//! its root alone.

/// Node count of the compressed radix tree over `keys` (sorted, unique,
/// all 16 bytes long).
pub(crate) fn node_count(keys: &[[u8; 16]]) -> u64 {
    if keys.is_empty() {
        return 1;
    }
    count(keys, 0)
}

fn count(keys: &[[u8; 16]], depth: usize) -> u64 {
    if depth >= 16 {
        return 1;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let shared = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if shared > 0 {
        return 1 + count(keys, depth + shared);
    }
    let mut n = 1;
    let mut lo = 0;
    while lo < keys.len() {
        let b = keys[lo][depth];
        let hi = lo + keys[lo..].partition_point(|k| k[depth] == b);
        n += count(&keys[lo..hi], depth + 1);
        lo = hi;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::stream::id::StreamId;

    fn keys(ids: &[(u64, u64)]) -> Vec<[u8; 16]> {
        ids.iter()
            .map(|&(ms, seq)| StreamId::new(ms, seq).be_bytes())
            .collect()
    }

    #[test]
    fn counts() {
        assert_eq!(node_count(&[]), 1);
        assert_eq!(node_count(&keys(&[(1, 1)])), 2);
        // Shared 15 bytes, then a branch on the last byte with two leaves.
        assert_eq!(node_count(&keys(&[(1, 1), (1, 2)])), 4);
    }
}
