//! Small macros that build a knob's typed accessors onto its `Config` field,
//! so each table entry names the field once instead of spelling out a getter
//! and a setter closure.

/// Bool accessor pair for `Config::$field`; `only_no` refuses `yes` (for
/// knobs kevy accepts only in their off position).
macro_rules! boolean {
    ($f:ident) => {
        $crate::defs::Kind::Bool {
            get: |c| c.$f,
            set: |c, v| {
                c.$f = v;
                Ok(())
            },
        }
    };
    ($f:ident, only_no = $why:literal) => {
        $crate::defs::Kind::Bool {
            get: |c| c.$f,
            set: |c, v| {
                if v {
                    return Err($why);
                }
                c.$f = v;
                Ok(())
            },
        }
    };
}

/// Integer accessor pair for `Config::$field`, with Redis's bounds.
macro_rules! int {
    ($f:ident, $min:expr, $max:expr) => {
        $crate::defs::Kind::Int {
            min: $min as i64,
            max: $max as i64,
            get: |c| c.$f as i64,
            set: |c, v| c.$f = v as _,
        }
    };
}

/// Memory-size accessor pair for `Config::$field`, with Redis's bounds.
macro_rules! memory {
    ($f:ident, $min:expr, $max:expr) => {
        $crate::defs::Kind::Memory {
            min: $min as u64,
            max: $max as u64,
            get: |c| c.$f,
            set: |c, v| c.$f = v,
        }
    };
}

/// Enum accessor pair for `Config::$field` of knob enum type `$ty`.
macro_rules! enumeration {
    ($f:ident, $ty:ty) => {
        $crate::defs::Kind::Enum {
            names: <$ty>::NAMES,
            get: |c| c.$f.index(),
            set: |c, i| c.$f = <$ty>::from_index(i),
        }
    };
}

/// String accessor pair for `Config::$field`, with an optional check.
macro_rules! string {
    ($f:ident) => {
        string!($f, |_| Ok(()))
    };
    ($f:ident, $check:expr) => {
        $crate::defs::Kind::Str {
            get: |c| &c.$f,
            set: |c, v| {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(v)?;
                c.$f = v.to_string();
                Ok(())
            },
        }
    };
}
