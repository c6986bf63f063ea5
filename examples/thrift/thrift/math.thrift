// The argument and reply of `/math/add`, for `thrift --gen rs` (Debian: thrift-compiler).
// src/gen/math.rs is its output: regenerate with
//   thrift --gen rs -out src/gen thrift/math.thrift
namespace go math
namespace rs math

struct AddArgs {
  1: required list<i64> nums,
  2: optional string note,
}

struct AddReply {
  1: required i64 sum,
  2: optional string note,
}
