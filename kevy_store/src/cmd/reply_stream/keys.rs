//! A streamed `KEYS` reply: O(1) snapshots of the database in every shard,
//! merged in key order (the order the eager reply sorts its keys in), the
//! pattern and expiry applied as the items are written. The command counts
//! the matches first (the header needs the count), under the same locks and
//! with the same clock, so the count and the items agree.

use crate::ctx::Ctx;
use crate::db::{Key, KeyMap};
use crate::error::CmdError;
use crate::glob::glob_match;
use crate::value::Entry;
use kevy_resp::{encode_array_header, encode_bulk, Protocol, Reply, ReplySource, Streamed};
use parking_lot::Mutex;

/// A streamed KEYS reply when the matches are many: a first pass counts
/// them (the header needs the count) and freezes each shard's database.
pub(crate) fn streamed(ctx: &mut Ctx<'_, '_>, pat: &[u8]) -> Result<Option<Reply>, CmdError> {
    let (db, now, loading) = (ctx.db, ctx.now_ms, ctx.loading);
    let mut maps = Vec::new();
    let mut total = 0;
    for shard in ctx.shards_mut() {
        let Some(d) = shard.dbs.get(db) else {
            return Err(CmdError::DbIndex);
        };
        total += d.len();
        maps.push(d.snapshot());
    }
    if !super::wanted(true, total) {
        return Ok(None);
    }
    let n = maps
        .iter()
        .flat_map(|m| m.iter())
        .filter(|(k, e)| matches(pat, k, e, now, loading))
        .count();
    Ok(super::wanted(true, n).then(|| keys(maps, pat, now, loading, n)))
}

/// `KEYS pattern` over `maps` (one database, one map per shard) as of
/// `now`: `n` keys match.
fn keys(maps: Vec<KeyMap>, pattern: &[u8], now: u64, loading: bool, n: usize) -> Reply {
    Reply::Stream(Streamed::new(KeysSource {
        maps,
        pattern: pattern.to_vec(),
        now,
        loading,
        n,
        resume: Mutex::new((0, None)),
    }))
}

/// True when `KEYS pattern` lists key `k` at time `now`.
pub(crate) fn matches(pattern: &[u8], k: &Key, e: &Entry, now: u64, loading: bool) -> bool {
    (pattern == b"*" || glob_match(pattern, k.bytes(), false)) && (loading || !e.is_expired(now))
}

struct KeysSource {
    maps: Vec<KeyMap>,
    pattern: Vec<u8>,
    now: u64,
    loading: bool,
    n: usize,
    /// Where the last chunk stopped: items written and the last key. A
    /// cursor asks for chunks in order, so the next chunk starts right
    /// after that key; any other start walks from the first key.
    resume: Mutex<(usize, Option<Key>)>,
}

impl KeysSource {
    /// Visits up to `limit` matching keys after `after` in key order, until
    /// `f` returns false; returns how many it visited and the last one.
    fn merge(
        &self,
        after: Option<&Key>,
        limit: usize,
        mut f: impl FnMut(&Key) -> bool,
    ) -> (usize, Option<Key>) {
        let mut iters: Vec<_> = self
            .maps
            .iter()
            .map(|m| {
                match after {
                    Some(k) => m.iter_from(k, false),
                    None => m.iter(),
                }
                .filter(|(k, e)| matches(&self.pattern, k, e, self.now, self.loading))
                .map(|(k, _)| k)
            })
            .collect();
        let mut heads: Vec<Option<&Key>> = iters.iter_mut().map(|it| it.next()).collect();
        let (mut done, mut last) = (0, None);
        while done < limit {
            // Each key lives in one shard: the smallest head is next.
            let Some(j) = (0..heads.len())
                .filter(|&j| heads[j].is_some())
                .min_by(|&a, &b| heads[a].cmp(&heads[b]))
            else {
                break;
            };
            let Some(k) = heads[j] else { break };
            done += 1;
            last = Some(k);
            heads[j] = iters[j].next();
            if !f(k) {
                break;
            }
        }
        (done, last.cloned())
    }
}

impl ReplySource for KeysSource {
    fn len(&self) -> usize {
        self.n
    }

    fn header(&self, _: Protocol, out: &mut Vec<u8>) {
        encode_array_header(out, self.n);
    }

    fn encode_from(&self, at: usize, _: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        let mut resume = self.resume.lock();
        if resume.0 != at {
            *resume = match at {
                0 => (0, None),
                _ => (at, self.merge(None, at, |_| true).1),
            };
        }
        let base = out.len();
        let (done, last) = self.merge(resume.1.as_ref(), self.n - at, |k| {
            encode_bulk(out, k.bytes());
            out.len() - base < budget
        });
        // Fewer matches than counted cannot happen on a snapshot; should it,
        // the count is kept (the header is out) and the walk ends here.
        let next = if done == 0 { self.n } else { at + done };
        if let Some(k) = last {
            *resume = (next, Some(k));
        }
        next
    }
}
