//! Compiles csrc/longdouble.c: the libc-backed number conversions (C `long
//! double` for INCRBYFLOAT, strtod / "%.17g" for doubles) used by
//! src/util/num.rs.

fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new()
        .file("csrc/longdouble.c")
        .std("c99")
        .warnings(true)
        .extra_warnings(true)
        .compile("ferrokv_longdouble");
}
