//! Redis 7.0's consumer-group read counter: how far a group has read in
//! the logical sequence of every entry ever added (`entries-read`) and how
//! far it is behind (`lag`), known only while deletions do not make them
//! ambiguous (`max-deleted-entry-id` against the range asked about).

use super::{Group, StreamId, StreamValue, INVALID_ENTRIES_READ};

impl StreamValue {
    /// True when `start..=end` may hold a deleted entry (Redis's
    /// `streamRangeHasTombstones`: it only knows the largest deleted ID).
    pub fn has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() || self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted && self.max_deleted <= end
    }

    /// The logical number of `id` among every entry ever added, when it
    /// can be known (Redis's `streamEstimateDistanceFromFirstEverEntry`;
    /// [`INVALID_ENTRIES_READ`] when it cannot).
    pub fn estimate_entries_read(&self, id: StreamId) -> i64 {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return added,
            std::cmp::Ordering::Greater => return INVALID_ENTRIES_READ,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return added - self.length as i64,
                std::cmp::Ordering::Equal => return added - self.length as i64 + 1,
                std::cmp::Ordering::Greater => {}
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag (entries not yet delivered to it), when it can be
    /// known (Redis's `streamReplyWithCGLag`).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if g.entries_read != INVALID_ENTRIES_READ && !self.has_tombstones(g.last_id, StreamId::MAX)
        {
            return Some(added - g.entries_read);
        }
        match self.estimate_entries_read(g.last_id) {
            INVALID_ENTRIES_READ => None,
            read => Some(added - read),
        }
    }

    /// Moves group `g`'s last delivered ID to `id` (a new delivery), keeping
    /// its read counter as Redis does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.has_tombstones(id, StreamId::MAX) {
            g.entries_read += 1;
        } else if self.entries_added != 0 {
            g.entries_read = self.estimate_entries_read(id);
        }
        g.last_id = id;
    }
}
