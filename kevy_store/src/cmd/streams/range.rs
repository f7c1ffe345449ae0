//! XRANGE and XREVRANGE, and the reply of a run of entries: built eagerly,
//! or, past `STREAM_MIN_ITEMS` entries on a server connection, streamed
//! from an O(1) clone of the stream (see `cmd/reply_stream/`).

use super::*;
use crate::cmd::reply_stream;
use crate::error::CmdResult;
use kevy_resp::{encode_array_header, encode_bulk, Protocol, ReplySource, Streamed};
use parking_lot::Mutex;

/// `XRANGE key start end [COUNT count]` (and XREVRANGE, its bounds
/// swapped), parsed as Redis's `xrangeGenericCommand`.
struct RangeArgs {
    start: StreamId,
    end: StreamId,
    /// None: no COUNT; Some(0): COUNT 0 or negative (a null reply).
    count: Option<u64>,
}

impl RangeArgs {
    fn parse(argv: &[Bytes], rev: bool) -> Result<RangeArgs, CmdError> {
        let (start_arg, end_arg) = if rev {
            (&argv[3], &argv[2])
        } else {
            (&argv[2], &argv[3])
        };
        let start = start_bound(start_arg)?;
        let end = end_bound(end_arg)?;
        let mut count = None;
        let mut j = 4;
        while j < argv.len() {
            if argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
                count = Some(int_arg(&argv[j + 1])?.max(0) as u64);
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(RangeArgs { start, end, count })
    }
}

/// `XRANGE key start end [COUNT count]`
pub(super) fn xrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, false)
}

/// `XREVRANGE key end start [COUNT count]`
pub(super) fn xrevrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, true)
}

fn range_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], rev: bool) -> CmdResult {
    let a = RangeArgs::parse(argv, rev)?;
    let stream_ok = ctx.stream_replies;
    let Some(s) = read_stream(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if a.count == Some(0) {
        return Ok(Reply::NilArray);
    }
    Ok(entries(
        s,
        a.start,
        a.end,
        rev,
        a.count.unwrap_or(0),
        stream_ok,
    ))
}

/// The live entries of `s` in `start..=end` (backwards when `rev`), at
/// most `count` (0: all), as an array of `[id, [field, value, ...]]`.
///
/// On a server connection (`stream_ok`) the reply is a source over an
/// O(1) clone of the stream that writes the entries straight into the
/// output: streamed chunk by chunk past `STREAM_MIN_ITEMS` entries, else
/// encoded at once (no reply tree of a string per field). Elsewhere it is
/// built as a tree.
pub(crate) fn entries(
    s: &StreamValue,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: u64,
    stream_ok: bool,
) -> Reply {
    if stream_ok {
        let n = if count == 0 || count as usize >= reply_stream::STREAM_MIN_ITEMS {
            let n = s.count_range(start, end);
            if count == 0 {
                n
            } else {
                n.min(count)
            }
        } else {
            s.range(start, end, rev).take(count as usize).count() as u64
        };
        return Reply::Stream(Streamed::new(Entries {
            s: s.clone(),
            start,
            end,
            rev,
            len: n as usize,
            inline: !reply_stream::wanted(stream_ok, n as usize),
            resume: Mutex::new((0, start, end)),
        }));
    }
    let mut out = EntriesReply::default();
    for e in s.range(start, end, rev) {
        out.push(&e);
        if count != 0 && out.len() as u64 >= count {
            break;
        }
    }
    Reply::Array(out.finish())
}

/// A streamed run of entries over a frozen clone of the stream.
struct Entries {
    s: StreamValue,
    start: StreamId,
    end: StreamId,
    rev: bool,
    len: usize,
    /// Small enough to encode with the rest of the output at once.
    inline: bool,
    /// Where the next chunk starts: (item number, remaining bounds). Chunks
    /// are asked for in order, so each resumes where the last one stopped.
    resume: Mutex<(usize, StreamId, StreamId)>,
}

impl ReplySource for Entries {
    fn len(&self) -> usize {
        self.len
    }

    fn inline(&self) -> bool {
        self.inline
    }

    fn header(&self, _proto: Protocol, out: &mut Vec<u8>) {
        encode_array_header(out, self.len);
    }

    fn encode_from(&self, at: usize, _proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        let mut resume = self.resume.lock();
        let (mut start, mut end) = (self.start, self.end);
        let mut skip = at;
        if resume.0 <= at {
            (start, end) = (resume.1, resume.2);
            skip = at - resume.0;
        }
        let base = out.len();
        let mut i = at;
        let mut ran_out = true;
        for e in self.s.range(start, end, self.rev) {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if i >= self.len {
                ran_out = false;
                break;
            }
            encode_array_header(out, 2);
            encode_bulk(out, e.id.to_string().as_bytes());
            let fields = e.fields();
            encode_array_header(out, fields.len() * 2);
            for (f, v) in fields {
                encode_bulk(out, f);
                encode_bulk(out, v);
            }
            i += 1;
            let next = if self.rev {
                e.id.decr().map(|p| (start, p))
            } else {
                e.id.incr().map(|n| (n, end))
            };
            match next {
                Some((a, b)) => *resume = (i, a, b),
                None => *resume = (i, StreamId::MAX, StreamId::MIN),
            }
            if out.len() - base >= budget {
                ran_out = false;
                break;
            }
        }
        // The clone is frozen, so the range holds exactly `len` entries; a
        // shortfall would be a bug, reported as done rather than looping.
        if ran_out {
            self.len
        } else {
            i
        }
    }
}
