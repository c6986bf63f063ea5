//! Generates the Rust types of `proto/*.proto` with prost-build, which runs `protoc`: the one
//! `PROTOC` names, else the one on `PATH` (Debian: `apt-get install protobuf-compiler`; CI
//! installs it), else the binary `protoc-bin-vendored` ships, so that a fresh checkout builds.

use std::path::Path;

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| Path::new(&d).join(cmd).is_file())
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed=PROTOC");
    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() && !on_path("protoc") {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    config
        .compile_protos(
            &["proto/greeter.proto", "proto/benchmark.proto"],
            &["proto"],
        )
        .map_err(|e| format!("prost-build: {e}"))?;
    Ok(())
}
