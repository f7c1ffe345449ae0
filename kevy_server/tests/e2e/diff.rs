//! One test per differential script in `tests/scripts/` (format: see
//! `util/script.rs`): kevy-server and redis-server must send the same bytes.

use crate::util::diff_script;

macro_rules! scripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                diff_script(stringify!($name));
            }
        )*
    };
}

scripts!(
    strings,
    incrbyfloat,
    keys,
    expire,
    connection,
    protocol,
    server,
    command,
    wrongtype,
    transactions,
);

scripts!(hashes);

scripts!(admin);
scripts!(sets);
scripts!(bitmaps);
scripts!(hll);
scripts!(zsets);
scripts!(geo);
scripts!(lists);
scripts!(lists_blocking);
scripts!(memory);
scripts!(sort);
scripts!(streams, streams_groups, streams_blocking);
scripts!(scripting, scripting_resp3, functions, lua_libs);
