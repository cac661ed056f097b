//! Sans-IO AMQP 0-9-1 codec (work in progress).
#![forbid(unsafe_code)]
