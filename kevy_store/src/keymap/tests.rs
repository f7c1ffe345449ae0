use super::*;
use std::collections::BTreeMap;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

type Model = BTreeMap<(u64, Vec<u8>), u64>;

fn check(t: &HashTrie<u64>, m: &Model) {
    assert_eq!(t.len(), m.len());
    let got: Vec<_> = t
        .iter()
        .map(|(k, v)| ((k.hash(), k.bytes().to_vec()), *v))
        .collect();
    let want: Vec<_> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(got, want);
    for ((h, b), v) in m {
        assert_eq!(t.get(*h, b), Some(v));
    }
}

/// Random inserts, overwrites, in-place updates and removals against a
/// BTreeMap model, over a keyspace that grows past several splits and
/// shrinks back through merges; a clone taken midway must not change.
fn model_run(mk: impl Fn(u64) -> Key, space: u64, ops: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut t = HashTrie::new();
    let mut m = Model::new();
    let mut frozen = None;
    for step in 0..ops {
        let k = mk(rng.next() % space);
        let id = (k.hash(), k.bytes().to_vec());
        // Grow during the first half, shrink during the second.
        let grow = step < ops / 2;
        match rng.next() % 10 {
            0..=5 if grow => {
                assert_eq!(t.insert(k, step as u64), m.insert(id, step as u64));
            }
            0..=5 => assert_eq!(t.remove(id.0, &id.1), m.remove(&id)),
            6 | 7 => {
                if let Some(v) = t.get_mut(id.0, &id.1) {
                    *v += 1;
                }
                if let Some(v) = m.get_mut(&id) {
                    *v += 1;
                }
            }
            8 => assert_eq!(t.get(id.0, &id.1), m.get(&id)),
            _ => assert_eq!(t.remove(id.0, &id.1), m.remove(&id)),
        }
        if step == ops / 3 {
            frozen = Some((t.clone(), m.clone()));
        }
        if step % 997 == 0 {
            check(&t, &m);
        }
    }
    check(&t, &m);
    let (ft, fm) = frozen.unwrap();
    check(&ft, &fm);
    for (k, _) in m.iter().take(50) {
        let key = t.iter().find(|(x, _)| x.hash() == k.0).unwrap().0.clone();
        for inclusive in [true, false] {
            let got: Vec<_> = t
                .iter_from(&key, inclusive)
                .map(|(k, _)| (k.hash(), k.bytes().to_vec()))
                .collect();
            let want: Vec<_> = m
                .range(k.clone()..)
                .filter(|(x, _)| inclusive || *x != k)
                .map(|(x, _)| x.clone())
                .collect();
            assert_eq!(got, want);
        }
    }
}

#[test]
fn matches_a_sorted_map_through_splits_and_merges() {
    model_run(
        |i| Key::new(format!("key:{i}").as_bytes()),
        20_000,
        120_000,
        7,
    );
}

#[test]
fn long_keys_and_small_keyspace() {
    model_run(
        |i| Key::new(format!("{i}:{}", "x".repeat(40)).as_bytes()),
        300,
        20_000,
        11,
    );
}

#[test]
fn identical_and_near_hashes_reach_the_deepest_level() {
    // Four hash values only: the trie splits down to MAX_DEPTH and keeps
    // the rest in big leaves ordered by bytes.
    model_run(
        |i| Key::with_hash(0x8000_0000_0000_0000 | (i % 4), format!("k{i}").as_bytes()),
        500,
        20_000,
        3,
    );
}

#[test]
fn iter_from_a_missing_key_and_past_the_end() {
    let mut t = HashTrie::new();
    for i in 0..1000u64 {
        t.insert(Key::new(format!("k{i}").as_bytes()), i);
    }
    let all: Vec<u64> = t.keys().map(|k| k.hash()).collect();
    let mid = Key::with_hash(all[500] - 1, b"");
    let from: Vec<u64> = t.iter_from(&mid, true).map(|(k, _)| k.hash()).collect();
    assert_eq!(from, all[500..]);
    let end = Key::with_hash(u64::MAX, b"\xff\xff");
    assert_eq!(t.iter_from(&end, true).count(), 0);
    assert_eq!(t.iter_from(&Key::with_hash(0, b""), false).count(), 1000);
}

#[test]
fn a_miss_does_not_copy_a_shared_path() {
    let mut t = HashTrie::new();
    for i in 0..500u64 {
        t.insert(Key::new(format!("k{i}").as_bytes()), i);
    }
    let snap = t.clone();
    assert!(t.get_mut(1, b"absent").is_none());
    assert!(t.remove(1, b"absent").is_none());
    match (&t.root, &snap.root) {
        (Child::Branch(a), Child::Branch(b)) => assert!(Arc::ptr_eq(a, b)),
        _ => panic!("500 keys make a branch"),
    }
}
