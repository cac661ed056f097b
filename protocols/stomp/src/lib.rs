//! Sans-IO STOMP 1.0, 1.1 and 1.2 frame codec (work in progress).
#![forbid(unsafe_code)]
