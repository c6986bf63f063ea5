//! pbproto against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes, and the whole stream
//! decodes incrementally whatever the chunking.

erpc_tests::proto_vector_tests! {
    protocol: erpc_proto::proto::PbProto,
    vectors: "pb",
    count: 17,
    gzip: 3,
}
