//! Links Debian's static opencore-amrnb (the AMR-NB decoder), found through pkg-config.

use std::path::Path;

const PACKAGE: &str = "opencore-amrnb";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(problem) = link_static() {
        eprintln!(
            "wecom-voice needs the static AMR-NB decoder library opencore-amrnb and pkg-config.\n\
             On Debian/Ubuntu: apt-get install -y libopencore-amrnb-dev pkg-config\n\
             (the SILK decoder, silk-rs, also needs libclang-dev for bindgen).\n\
             {problem}"
        );
        std::process::exit(1);
    }
}

/// Emits the link flags for `libopencore-amrnb.a`. The pkg-config crate links a library found in
/// a system directory dynamically even when asked for static linking, so the archive's directory
/// is asked for and the archive named explicitly: the binary then needs no shared library.
fn link_static() -> Result<(), String> {
    let library = pkg_config::Config::new()
        .atleast_version("0.1.5")
        .cargo_metadata(false)
        .probe(PACKAGE)
        .map_err(|error| format!("pkg-config said: {error}"))?;
    let libdir = pkg_config::get_variable(PACKAGE, "libdir")
        .map_err(|error| format!("pkg-config gave no libdir: {error}"))?;
    let archive = format!("lib{PACKAGE}.a");
    let dir = std::iter::once(Path::new(&libdir))
        .chain(library.link_paths.iter().map(|path| path.as_path()))
        .find(|dir| dir.join(&archive).is_file())
        .ok_or_else(|| format!("{archive} is not in {libdir}"))?;
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static={PACKAGE}");
    Ok(())
}
