//! Packets captured from the real Go eRPC v6 peer (kcp-go v5.5.12) over loopback.
//!
//! Each file holds the first 39 UDP packets (three FEC groups of 10 data + 3 parity) one side
//! sent, each as `len u16 LE | packet`, recorded by a UDP relay between
//! `erpc-go-peer client --network kcp --only math_add,echo_bytes,echo_string` and
//! `erpc-go-peer server --network kcp` (see `tests/fixtures/README.md`).

/// Splits a fixture file into its packets.
pub(crate) fn packets(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        out.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    out
}

/// Both captured directions.
pub(crate) const FILES: [&str; 2] = ["go-client-to-server.bin", "go-server-to-client.bin"];
