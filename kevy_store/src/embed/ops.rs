//! The typed operations of [`Kevy`]: one method per Redis command, each
//! run through the command table and converted to Rust types.

use super::*;

impl Kevy {
    // ---- strings ----

    /// `SET key value`.
    pub fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), CmdError> {
        self.call(vec![s("SET"), b(key), b(value)]).map(drop)
    }

    /// `SET key value PX ttl`: sets with a time to live (millisecond precision).
    pub fn set_ex(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<(), CmdError> {
        self.call(vec![
            s("SET"),
            b(key),
            b(value),
            s("PX"),
            num(ttl.as_millis()),
        ])
        .map(drop)
    }

    /// `SET key value NX`: true if the key was set (it did not exist).
    pub fn set_nx(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(bulk_opt(self.call(vec![s("SET"), b(key), b(value), s("NX")])?)?.is_some())
    }

    /// `GET key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("GET"), b(key)])?)
    }

    /// `MGET key...`: one value per key (`None` for a missing or non-string key).
    pub fn mget<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<Bytes>>, CmdError> {
        items(self.call(argv(&[s("MGET")], keys))?)?
            .into_iter()
            .map(bulk_opt)
            .collect()
    }

    /// `MSET key value ...`, atomically across shards.
    pub fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), CmdError> {
        let mut v = vec![s("MSET")];
        for (k, x) in pairs {
            v.push(b(k));
            v.push(b(x));
        }
        self.call(v).map(drop)
    }

    /// `INCR key`: the new value.
    pub fn incr(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("INCR"), b(key)])?)
    }

    /// `INCRBY key by`: the new value.
    pub fn incr_by(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, CmdError> {
        int(self.call(vec![s("INCRBY"), b(key), num(by)])?)
    }

    /// `DECR key`: the new value.
    pub fn decr(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("DECR"), b(key)])?)
    }

    /// `APPEND key value`: the new length.
    pub fn append(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("APPEND"), b(key), b(value)])?)
    }

    /// `STRLEN key`.
    pub fn strlen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("STRLEN"), b(key)])?)
    }

    // ---- keys ----

    /// `DEL key...`: how many existed.
    pub fn del<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("DEL")], keys))?)
    }

    /// `EXISTS key`.
    pub fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("EXISTS"), b(key)])?)? > 0)
    }

    /// `EXISTS key...`: how many of `keys` exist (a key named twice counts twice).
    pub fn exists_count<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("EXISTS")], keys))?)
    }

    /// `PEXPIRE key ttl`: true if the key exists and the expiry was set.
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Duration) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("PEXPIRE"), b(key), num(ttl.as_millis())])?)? == 1)
    }

    /// `PERSIST key`: true if an expiry was removed.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("PERSIST"), b(key)])?)? == 1)
    }

    /// `PTTL key`.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Ttl, CmdError> {
        Ok(match int(self.call(vec![s("PTTL"), b(key)])?)? {
            -2 => Ttl::Missing,
            -1 => Ttl::Persistent,
            ms => Ttl::Expires(Duration::from_millis(ms.max(0) as u64)),
        })
    }

    /// `TYPE key`: `"string"`, `"list"`, ... or `"none"`.
    pub fn key_type(&self, key: impl AsRef<[u8]>) -> Result<String, CmdError> {
        let t = bulk_opt(self.call(vec![s("TYPE"), b(key)])?)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&t).into_owned())
    }

    /// `RENAME key newkey` (atomic across shards).
    pub fn rename(&self, key: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<(), CmdError> {
        self.call(vec![s("RENAME"), b(key), b(to)]).map(drop)
    }

    /// `KEYS pattern`: every key of the database matching a glob pattern.
    pub fn keys(&self, pattern: impl AsRef<[u8]>) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("KEYS"), b(pattern)])?)
    }

    /// `DBSIZE`.
    pub fn dbsize(&self) -> Result<i64, CmdError> {
        int(self.call(vec![s("DBSIZE")])?)
    }

    /// `FLUSHDB`: empties this handle's database.
    pub fn flushdb(&self) -> Result<(), CmdError> {
        self.call(vec![s("FLUSHDB")]).map(drop)
    }

    // ---- lists ----

    /// `LPUSH key value...`: the list's new length.
    pub fn lpush<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("LPUSH"), b(key)], values))?)
    }

    /// `RPUSH key value...`: the list's new length.
    pub fn rpush<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("RPUSH"), b(key)], values))?)
    }

    /// `LPOP key`.
    pub fn lpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("LPOP"), b(key)])?)
    }

    /// `RPOP key`.
    pub fn rpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("RPOP"), b(key)])?)
    }

    /// `LLEN key`.
    pub fn llen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("LLEN"), b(key)])?)
    }

    /// `LRANGE key start stop` (inclusive, negative indexes count from the end).
    pub fn lrange(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("LRANGE"), b(key), num(start), num(stop)])?)
    }

    /// `LINDEX key index`.
    pub fn lindex(&self, key: impl AsRef<[u8]>, index: i64) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("LINDEX"), b(key), num(index)])?)
    }

    // ---- hashes ----

    /// `HSET key field value`: true if the field is new.
    pub fn hset(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("HSET"), b(key), b(field), b(value)])?)? == 1)
    }

    /// `HSET key field value ...`: how many fields are new.
    pub fn hset_many<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        pairs: impl IntoIterator<Item = (F, V)>,
    ) -> Result<i64, CmdError> {
        let mut v = vec![s("HSET"), b(key)];
        for (f, x) in pairs {
            v.push(b(f));
            v.push(b(x));
        }
        int(self.call(v)?)
    }

    /// `HGET key field`.
    pub fn hget(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
    ) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("HGET"), b(key), b(field)])?)
    }

    /// `HDEL key field...`: how many fields were removed.
    pub fn hdel<F: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("HDEL"), b(key)], fields))?)
    }

    /// `HGETALL key`: (field, value) pairs in the hash's order.
    pub fn hgetall(&self, key: impl AsRef<[u8]>) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
        pairs(self.call(vec![s("HGETALL"), b(key)])?)?
            .into_iter()
            .map(|(f, v)| {
                let f = bulk_opt(f)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                let v = bulk_opt(v)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                Ok((f, v))
            })
            .collect()
    }

    /// `HLEN key`.
    pub fn hlen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("HLEN"), b(key)])?)
    }

    /// `HINCRBY key field by`: the new value.
    pub fn hincr_by(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        by: i64,
    ) -> Result<i64, CmdError> {
        int(self.call(vec![s("HINCRBY"), b(key), b(field), num(by)])?)
    }

    // ---- sets ----

    /// `SADD key member...`: how many members are new.
    pub fn sadd<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("SADD"), b(key)], members))?)
    }

    /// `SREM key member...`: how many members were removed.
    pub fn srem<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("SREM"), b(key)], members))?)
    }

    /// `SMEMBERS key` (in the set's internal order).
    pub fn smembers(&self, key: impl AsRef<[u8]>) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("SMEMBERS"), b(key)])?)
    }

    /// `SISMEMBER key member`.
    pub fn sismember(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("SISMEMBER"), b(key), b(member)])?)? == 1)
    }

    /// `SCARD key`.
    pub fn scard(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("SCARD"), b(key)])?)
    }

    // ---- sorted sets ----

    /// `ZADD key score member`: true if the member is new.
    pub fn zadd(
        &self,
        key: impl AsRef<[u8]>,
        score: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("ZADD"), b(key), num(score), b(member)])?)? == 1)
    }

    /// `ZADD key score member ...`: how many members are new.
    pub fn zadd_many<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: impl IntoIterator<Item = (f64, M)>,
    ) -> Result<i64, CmdError> {
        let mut v = vec![s("ZADD"), b(key)];
        for (score, m) in items {
            v.push(num(score));
            v.push(b(m));
        }
        int(self.call(v)?)
    }

    /// `ZSCORE key member`.
    pub fn zscore(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<f64>, CmdError> {
        float_opt(self.call(vec![s("ZSCORE"), b(key), b(member)])?)
    }

    /// `ZINCRBY key by member`: the new score.
    pub fn zincr_by(
        &self,
        key: impl AsRef<[u8]>,
        by: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<f64, CmdError> {
        float_opt(self.call(vec![s("ZINCRBY"), b(key), num(by), b(member)])?)?
            .ok_or_else(|| unexpected(&Reply::Nil))
    }

    /// `ZRANGE key start stop`: members by rank, lowest score first.
    pub fn zrange(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("ZRANGE"), b(key), num(start), num(stop)])?)
    }

    /// `ZRANGE key start stop WITHSCORES`: (member, score) by rank.
    pub fn zrange_withscores(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(Bytes, f64)>, CmdError> {
        let r = self.call(vec![
            s("ZRANGE"),
            b(key),
            num(start),
            num(stop),
            s("WITHSCORES"),
        ])?;
        pairs(r)?
            .into_iter()
            .map(|(m, sc)| {
                let m = bulk_opt(m)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                let sc = float_opt(sc)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                Ok((m, sc))
            })
            .collect()
    }

    /// `ZRANK key member`.
    pub fn zrank(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<i64>, CmdError> {
        match self.call(vec![s("ZRANK"), b(key), b(member)])? {
            Reply::Nil | Reply::NilArray => Ok(None),
            r => int(r).map(Some),
        }
    }

    /// `ZREM key member...`: how many members were removed.
    pub fn zrem<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("ZREM"), b(key)], members))?)
    }

    /// `ZCARD key`.
    pub fn zcard(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("ZCARD"), b(key)])?)
    }
}
