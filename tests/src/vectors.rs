//! Go eRPC golden vectors.
