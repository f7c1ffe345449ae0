//! Randomised tests of the order-statistic tree against a sorted `Vec`, and
//! of `ZSetValue`'s encoding rules.

use super::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

type Model = Vec<(f64, Vec<u8>)>;

fn key(it: &Item) -> (f64, Vec<u8>) {
    (it.score, it.member.to_vec())
}

fn model_pos(model: &[(f64, Vec<u8>)], s: f64, m: &[u8]) -> Result<usize, usize> {
    model.binary_search_by(|(ms, mm)| cmp_key(*ms, mm, s, m))
}

fn check_all(t: &OsTree, model: &[(f64, Vec<u8>)], rng: &mut Rng) {
    t.check();
    assert_eq!(t.len(), model.len());
    let all: Vec<_> = t.iter(0, t.len()).map(key).collect();
    assert_eq!(all, model);
    let rev: Vec<_> = t.iter_rev(0, t.len()).map(key).collect();
    let mut mrev = model.to_vec();
    mrev.reverse();
    assert_eq!(rev, mrev);
    for _ in 0..20 {
        if model.is_empty() {
            break;
        }
        let r = rng.below(model.len() as u64) as usize;
        let it = t.get(r).map(key);
        assert_eq!(it.as_ref(), model.get(r));
        assert_eq!(t.rank(model[r].0, &model[r].1), Some(r));
        let a = rng.below(model.len() as u64 + 2) as usize;
        let b = rng.below(model.len() as u64 + 2) as usize;
        let got: Vec<_> = t.iter(a, b).map(key).collect();
        let want: Vec<_> = model.iter().take(b).skip(a).cloned().collect();
        assert_eq!(got, want, "iter {a}..{b}");
        let got: Vec<_> = t.iter_rev(a, b).map(key).collect();
        let mut want = want;
        want.reverse();
        assert_eq!(got, want, "iter_rev {a}..{b}");
        let bound = (rng.below(200) as f64) / 2.0;
        assert_eq!(
            t.partition_point(|s, _| s < bound),
            model.iter().filter(|(s, _)| *s < bound).count()
        );
        assert_eq!(
            t.partition_point(|s, _| s <= bound),
            model.iter().filter(|(s, _)| *s <= bound).count()
        );
    }
    assert_eq!(t.get(model.len()), None);
}

fn run(seed: u64, ops: usize, span: u64, every: usize) {
    let mut rng = Rng(seed);
    let mut t = OsTree::default();
    let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
    let mut snapshots: Vec<(OsTree, Model)> = Vec::new();
    for step in 0..ops {
        let s = (rng.below(100) as f64) / 2.0;
        let m = format!("m{}", rng.below(span)).into_bytes();
        match rng.below(10) {
            0..=4 => {
                if let Err(p) = model_pos(&model, s, &m) {
                    t.insert(s, KStr::from_slice(&m));
                    model.insert(p, (s, m));
                }
            }
            5..=6 => {
                let found = model_pos(&model, s, &m).ok();
                assert_eq!(t.remove(s, &m).is_some(), found.is_some());
                if let Some(p) = found {
                    model.remove(p);
                }
                if !model.is_empty() {
                    let p = rng.below(model.len() as u64) as usize;
                    let (ms, mm) = model.remove(p);
                    assert!(t.remove(ms, &mm).is_some());
                }
            }
            7 => {
                if !model.is_empty() {
                    let p = rng.below(model.len() as u64) as usize;
                    let it = t.remove_at(p).map(|i| key(&i));
                    assert_eq!(it, Some(model.remove(p)));
                }
                assert!(t.remove_at(model.len()).is_none());
            }
            8 => {
                if snapshots.len() < 4 {
                    snapshots.push((t.clone(), model.clone()));
                }
            }
            _ => {
                assert_eq!(t.rank(s, &m), model_pos(&model, s, &m).ok());
            }
        }
        if step % every == 0 {
            check_all(&t, &model, &mut rng);
        }
    }
    check_all(&t, &model, &mut rng);
    // Snapshots taken along the way never saw the later writes.
    for (snap, m) in &snapshots {
        check_all(snap, m, &mut rng);
    }
}

#[test]
fn tree_matches_sorted_vec_small() {
    for seed in 1..40 {
        run(seed * 7919, 600, 40, 97);
    }
}

#[test]
fn tree_matches_sorted_vec_large() {
    run(12345, 60_000, 5_000, 4999);
    run(999, 30_000, 100_000, 9999);
}

#[test]
fn tree_bulk_build_and_drain() {
    for n in [0usize, 1, 2, 47, 48, 49, 64, 65, 100, 1000, 4097, 20_000] {
        let items: Vec<Item> = (0..n)
            .map(|i| Item {
                score: (i / 3) as f64,
                member: KStr::from(format!("{:08}", i).as_str()),
            })
            .collect();
        let model: Vec<_> = items.iter().map(key).collect();
        let mut t = OsTree::from_sorted(items);
        let mut rng = Rng(n as u64 + 1);
        check_all(&t, &model, &mut rng);
        // Drain from the front, the back and the middle.
        let mut model = model;
        while !model.is_empty() {
            let p = match model.len() % 3 {
                0 => 0,
                1 => model.len() - 1,
                _ => model.len() / 2,
            };
            assert_eq!(t.remove_at(p).map(|i| key(&i)), Some(model.remove(p)));
            if model.len() % 211 == 0 {
                check_all(&t, &model, &mut rng);
            }
        }
        t.check();
        assert!(t.is_empty());
    }
}

#[test]
fn negative_zero_ties_with_zero() {
    let mut t = OsTree::default();
    t.insert(0.0, KStr::from("b"));
    t.insert(-0.0, KStr::from("a"));
    t.insert(-0.0, KStr::from("c"));
    let v: Vec<_> = t.iter(0, 3).map(|i| i.member.to_vec()).collect();
    assert_eq!(v, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(t.rank(0.0, b"c"), Some(2));
    assert!(t.remove(0.0, b"a").is_some());
}

#[test]
fn encodings() {
    let mut z = ZSetValue::new();
    for i in 0..128 {
        z.insert(format!("m{i}").as_bytes(), i as f64);
    }
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"m0", 5.0);
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"x", 1.0);
    assert_eq!(z.encoding(), "skiplist");
    z.remove_range(0, 120);
    assert_eq!(z.len(), 9);
    assert_eq!(z.encoding(), "skiplist");
    let mut z = ZSetValue::new();
    z.insert(&[b'a'; 64], 1.0);
    assert_eq!(z.encoding(), "listpack");
    z.insert(&[b'a'; 65], 1.0);
    assert_eq!(z.encoding(), "skiplist");
}

#[test]
fn listpack_drops_negative_zero() {
    let mut z = ZSetValue::new();
    z.insert(b"a", -0.0);
    assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
    let mut z = ZSetValue::new();
    z.insert(&[b'a'; 65], -0.0);
    assert!(z.score(&[b'a'; 65]).is_some_and(|s| s.is_sign_negative()));
}

#[test]
fn value_ops_keep_map_and_tree_in_step() {
    let mut rng = Rng(77);
    let mut z = ZSetValue::new();
    let mut model = std::collections::BTreeMap::new();
    for _ in 0..20_000 {
        let m = format!("k{}", rng.below(500)).into_bytes();
        if rng.below(3) == 0 {
            assert_eq!(z.remove(&m), model.remove(&m));
        } else {
            let s = rng.below(50) as f64;
            assert_eq!(z.insert(&m, s), model.insert(m, s));
        }
    }
    assert_eq!(z.len(), model.len());
    let mut want: Vec<_> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
    want.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
    let got: Vec<_> = z.iter().map(key).collect();
    assert_eq!(got, want);
    for (r, (_, m)) in want.iter().enumerate() {
        assert_eq!(z.rank(m), Some(r));
    }
    assert_eq!(
        z.restore_commands(b"k")
            .iter()
            .map(|c| (c.len() - 2) / 2)
            .sum::<usize>(),
        z.len()
    );
}
