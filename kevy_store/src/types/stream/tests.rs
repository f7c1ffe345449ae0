use super::*;

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

fn filled(n: u64, lim: NodeLimits) -> StreamValue {
    let mut s = StreamValue::default();
    for i in 1..=n {
        s.append(id(i, 1), &[b"f", b"v"], lim);
    }
    s
}

fn ids(r: Range<'_>) -> Vec<StreamId> {
    r.map(|e| e.id).collect()
}

#[test]
fn nodes_split_where_redis_splits() {
    // redis-server 7.0.15: 500 entries `i-1 f v` make 5 nodes of 100;
    // with stream-node-max-entries 0, 30000 of them make 86 nodes (the
    // 4096-byte limit alone).
    assert_eq!(filled(500, NodeLimits::default()).node_count(), 5);
    let big = filled(
        30_000,
        NodeLimits {
            max_bytes: 4096,
            max_entries: 0,
        },
    );
    assert_eq!(big.node_count(), 86);
    assert_eq!(big.rax_nodes(), 174);
}

#[test]
fn approximate_trim_removes_whole_nodes_within_the_limit() {
    // redis-server 7.0.15, same stream: `XTRIM s MAXLEN ~ 0` with its
    // default limit of 10000 removed 9828 entries.
    let mut big = filled(
        30_000,
        NodeLimits {
            max_bytes: 4096,
            max_entries: 0,
        },
    );
    assert_eq!(big.trim(Trim::MaxLen(0), true, 10_000), 9828);
    assert_eq!(big.len(), 20_172);
    let mut s = filled(500, NodeLimits::default());
    assert_eq!(s.trim(Trim::MaxLen(0), true, 150), 100);
    assert_eq!(s.trim(Trim::MaxLen(0), true, 99), 0);
    assert_eq!(s.trim(Trim::MaxLen(0), true, 0), 400);
    assert!(s.is_empty());
    assert_eq!(s.first_id, StreamId::MIN);
}

#[test]
fn exact_trim_reaches_inside_a_node() {
    let mut s = filled(250, NodeLimits::default());
    assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 130);
    assert_eq!(s.len(), 120);
    assert_eq!(s.first_id, id(131, 1));
    assert_eq!(s.node_count(), 2);
    assert_eq!(s.trim(Trim::MinId(id(200, 0)), false, 0), 69);
    assert_eq!(s.first_id, id(200, 1));
    assert_eq!(s.count_range(StreamId::MIN, StreamId::MAX), 51);
}

#[test]
fn ranges_both_ways_skip_deleted_entries() {
    let mut s = filled(300, NodeLimits::default());
    assert!(s.delete(id(150, 1)));
    assert!(!s.delete(id(150, 1)));
    assert!(!s.delete(id(150, 2)));
    let fwd = ids(s.range(id(148, 0), id(152, 5), false));
    assert_eq!(fwd, [id(148, 1), id(149, 1), id(151, 1), id(152, 1)]);
    let back = ids(s.range(id(148, 0), id(152, 5), true));
    assert_eq!(back, [id(152, 1), id(151, 1), id(149, 1), id(148, 1)]);
    assert_eq!(s.count_range(id(148, 0), id(152, 5)), 4);
    assert_eq!(s.count_range(id(1, 0), id(300, 1)), 299);
    assert!(ids(s.range(id(5, 0), id(4, 0), false)).is_empty());
    let e = s.get(id(7, 1));
    let pairs: Option<Vec<_>> = e.map(|e| e.fields().collect());
    assert_eq!(pairs, Some(vec![(&b"f"[..], &b"v"[..])]));
    assert_eq!(s.edge(true).map(|e| e.id), Some(id(300, 1)));
}

#[test]
fn deleting_every_entry_of_a_node_drops_it() {
    let mut s = filled(200, NodeLimits::default());
    for i in 1..=100 {
        assert!(s.delete(id(i, 1)));
    }
    assert_eq!(s.node_count(), 1);
    s.refresh_first_id();
    assert_eq!(s.first_id, id(101, 1));
}

#[test]
fn ids_follow_redis_rules() {
    let mut s = StreamValue::default();
    let auto = |ms| {
        Some(ParsedId {
            id: id(ms, 0),
            seq_given: false,
        })
    };
    let given = |ms, seq| {
        Some(ParsedId {
            id: id(ms, seq),
            seq_given: true,
        })
    };
    assert_eq!(s.next_id(1000, None), Ok(id(1000, 0)));
    assert_eq!(s.next_id(1000, auto(0)), Ok(id(0, 1)));
    s.append(id(5, u64::MAX), &[b"a", b"b"], NodeLimits::default());
    assert_eq!(s.next_id(3, None), Ok(id(6, 0)));
    assert_eq!(s.next_id(3, auto(5)), Err(AddError::TooLarge));
    assert_eq!(s.next_id(3, auto(4)), Err(AddError::NotGreater));
    assert_eq!(s.next_id(3, given(5, 0)), Err(AddError::NotGreater));
    assert_eq!(s.next_id(3, auto(9)), Ok(id(9, 0)));
}

#[test]
fn clones_share_and_diverge() {
    let mut a = filled(150, NodeLimits::default());
    let b = a.clone();
    a.append(id(1000, 0), &[b"x", b"y"], NodeLimits::default());
    assert!(a.delete(id(3, 1)));
    assert_eq!(b.len(), 150);
    assert!(b.get(id(3, 1)).is_some());
    assert!(b.get(id(1000, 0)).is_none());
    assert_ne!(a, b);
    let c = a.clone();
    assert_eq!(a, c);
}

#[test]
fn restore_commands_rebuild_the_counters() {
    let mut s = filled(3, NodeLimits::default());
    s.groups.insert(KStr::from("g"), Group::new(id(2, 1), 2));
    let cmds = s.restore_commands(b"k");
    let text: Vec<String> = cmds
        .iter()
        .map(|c| String::from_utf8_lossy(&c.join(&b' ')).into_owned())
        .collect();
    assert_eq!(
        text,
        [
            "XADD k 1-1 f v",
            "XADD k 2-1 f v",
            "XADD k 3-1 f v",
            "XGROUP CREATE k g 2-1 ENTRIESREAD 2",
            "XSETID k 3-1 ENTRIESADDED 3",
        ]
    );
}
