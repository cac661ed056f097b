//! RabbitMQ's confirm class (85): publisher confirms.

method! {
    /// Puts the channel in confirm mode: the server acks (basic.ack) or nacks
    /// (basic.nack) each publish.
    ConfirmSelect = (85, 10, "confirm.select") {
        /// Send no select-ok.
        pub no_wait: bool,
    }
}

method! {
    /// Confirms confirm.select.
    ConfirmSelectOk = (85, 11, "confirm.select-ok") {}
}
