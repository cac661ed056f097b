//! Sans-IO WebSocket (RFC 6455) server codec (work in progress).
#![forbid(unsafe_code)]
