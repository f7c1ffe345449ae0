//! The ACL log (`ACL LOG`): recent denials and failed AUTHs, newest first.
//! An event equal to a recent entry (same reason, context, object and user,
//! within 60 seconds) bumps that entry's count instead of adding one, as in
//! Redis.

use bytes::Bytes;
use kevy_resp::Reply;
use parking_lot::Mutex;

/// How many entries are kept (Redis's `acllog-max-len` default).
pub const MAX_LEN: usize = 128;

/// How close in time two equal events must be to be grouped.
const GROUP_MS: u64 = 60_000;

/// One ACL log entry.
pub struct Entry {
    /// How many times it happened.
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    /// The command, key or channel refused (`auth` for AUTH failures).
    pub object: String,
    /// The user involved.
    pub username: String,
    /// Last time it happened (Unix ms).
    pub ctime: u64,
    /// CLIENT LIST line of the client, when it last happened.
    pub client_info: String,
}

/// The log.
#[derive(Default)]
pub struct AclLog {
    entries: Mutex<Vec<Entry>>,
}

impl AclLog {
    /// Records one event.
    pub fn add(&self, mut e: Entry) {
        let mut v = self.entries.lock();
        let found = v.iter().position(|o| {
            o.reason == e.reason
                && o.context == e.context
                && o.object == e.object
                && o.username == e.username
                && e.ctime.saturating_sub(o.ctime) < GROUP_MS
        });
        if let Some(i) = found {
            let old = v.remove(i);
            e.count = old.count + 1;
        }
        v.insert(0, e);
        v.truncate(MAX_LEN);
    }

    /// `ACL LOG RESET`.
    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// `ACL LOG [count]`: the newest `count` entries.
    pub fn reply(&self, count: usize, now_ms: u64) -> Reply {
        let b = |s: &str| Reply::Bulk(Bytes::from(s.to_string()));
        let v = self.entries.lock();
        Reply::Array(
            v.iter()
                .take(count)
                .map(|e| {
                    let age = now_ms.saturating_sub(e.ctime) as f64 / 1000.0;
                    Reply::Map(vec![
                        (b("count"), Reply::Int(e.count as i64)),
                        (b("reason"), b(e.reason)),
                        (b("context"), b(e.context)),
                        (b("object"), b(&e.object)),
                        (b("username"), b(&e.username)),
                        (b("age-seconds"), Reply::Double(age)),
                        (b("client-info"), b(&e.client_info)),
                    ])
                })
                .collect(),
        )
    }
}
