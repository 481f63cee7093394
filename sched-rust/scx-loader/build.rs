//! Link-mode selection for libelf / zlib (libzstd).
//!
//! libbpf itself comes from libbpf-sys's `vendored-libbpf` feature (built from
//! the bundled libbpf source and linked statically). libbpf-sys then asks for
//! `-lelf -lz` as *dynamic* libraries. To get a loader binary that only needs
//! glibc at run time (easy to drop into a busybox initramfs), this script puts
//! a directory first on the linker search path in which `libelf.so` and
//! `libz.so` are tiny GNU ld linker scripts that pull in the static archives
//! (`GROUP(libelf.a libz.a libzstd.a)`): `-lelf` and `-lz` then resolve
//! statically, with no change to libbpf-sys.
//!
//! Debian's libelf.a (elfutils 0.192) references four helpers from elfutils'
//! internal libeu.a that is not shipped (eu_search_tree_init/fini, eu_tsearch,
//! eu_tdelete). `eu_shim.c` provides them (same semantics, without the
//! optional rwlock; libbpf uses libelf from one thread). Archive members are
//! only pulled for undefined symbols, so the shim is inert where libelf.a has
//! its own. Before choosing static linking, a test program is linked with the
//! whole of libelf.a; if that fails for any reason the build falls back.
//!
//! Falls back to ordinary dynamic linking (with a cargo warning) when the
//! static archives are not installed (Debian: libelf-dev, zlib1g-dev,
//! libzstd-dev ship them), or when SCX_LOADER_DYNAMIC=1 is set.
//! SCX_LOADER_LIBDIR=<dir> adds a directory to search for the archives first.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn find(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SCX_LOADER_DYNAMIC");
    println!("cargo:rerun-if-env-changed=SCX_LOADER_LIBDIR");

    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let mode_file = out.join("link-mode.txt");
    if env::var("SCX_LOADER_DYNAMIC").map(|v| v == "1").unwrap_or(false) {
        fs::write(&mode_file, "dynamic (SCX_LOADER_DYNAMIC=1)").unwrap();
        println!("cargo:rustc-env=SCX_LOADER_LINK_MODE=dynamic libelf/libz (SCX_LOADER_DYNAMIC=1)");
        return;
    }
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let multiarch = format!("{arch}-{os}-{target_env}");
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = env::var_os("SCX_LOADER_LIBDIR") {
        dirs.push(PathBuf::from(d));
    }
    for d in [
        format!("/usr/lib/{multiarch}"),
        format!("/lib/{multiarch}"),
        "/usr/lib64".to_string(),
        "/usr/lib".to_string(),
        "/usr/local/lib".to_string(),
    ] {
        dirs.push(PathBuf::from(d));
    }

    let elf = find(&dirs, "libelf.a");
    let z = find(&dirs, "libz.a");
    let zstd = find(&dirs, "libzstd.a");
    let (Some(elf), Some(z)) = (elf, z) else {
        println!(
            "cargo:warning=scx-loader: libelf.a/libz.a not found; linking libelf and zlib dynamically \
             (install libelf-dev zlib1g-dev libzstd-dev for a binary that needs only glibc)"
        );
        println!("cargo:rustc-env=SCX_LOADER_LINK_MODE=dynamic libelf/libz (static archives not found)");
        return;
    };
    let shim = out.join("static-shim");
    fs::create_dir_all(&shim).unwrap();
    let q = |p: &Path| p.display().to_string();

    // The eu_* helper shim, as a static archive (no automatic cargo metadata).
    println!("cargo:rerun-if-changed=eu_shim.c");
    cc::Build::new().file("eu_shim.c").cargo_metadata(false).warnings(false).out_dir(&shim).compile("scx_eushim");
    let eushim = shim.join("libscx_eushim.a");

    let mut elf_group = vec![q(&elf), q(&eushim), q(&z)];
    if let Some(zs) = &zstd {
        elf_group.push(q(zs));
    }

    // Trial link with every member of libelf.a.
    let test_c = shim.join("trial.c");
    fs::write(&test_c, "#include <libelf.h>\nint main(void){ elf_version(EV_CURRENT); return 0; }\n").unwrap();
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut cmd = compiler.to_command();
    cmd.arg(&test_c)
        .arg("-o")
        .arg(shim.join("trial"))
        .arg("-Wl,--whole-archive")
        .arg(&elf)
        .arg("-Wl,--no-whole-archive")
        .arg("-Wl,--start-group");
    for a in &elf_group[1..] {
        cmd.arg(a);
    }
    cmd.arg("-Wl,--end-group");
    let trial = cmd.output();
    let ok = matches!(&trial, Ok(o) if o.status.success());
    if !ok {
        let why = match trial {
            Ok(o) => String::from_utf8_lossy(&o.stderr).lines().take(3).collect::<Vec<_>>().join(" | "),
            Err(e) => e.to_string(),
        };
        println!(
            "cargo:warning=scx-loader: static libelf trial link failed ({why}); linking libelf and zlib dynamically"
        );
        println!("cargo:rustc-env=SCX_LOADER_LINK_MODE=dynamic libelf/libz (static trial link failed)");
        return;
    }
    fs::write(
        shim.join("libelf.so"),
        format!("/* scx-loader build.rs: link libelf statically */\nGROUP ( {} )\n", elf_group.join(" ")),
    )
    .unwrap();
    fs::write(shim.join("libz.so"), format!("/* scx-loader build.rs: link zlib statically */\nGROUP ( {} )\n", q(&z)))
        .unwrap();
    println!("cargo:rustc-link-search=native={}", shim.display());
    fs::write(&mode_file, format!("static libelf/libz: {}", elf_group.join(" "))).unwrap();
    println!(
        "cargo:rustc-env=SCX_LOADER_LINK_MODE=static libbpf+libelf+zlib{}",
        if zstd.is_some() { "+zstd" } else { "" }
    );
}
