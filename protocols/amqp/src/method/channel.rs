//! The channel class (20): open, flow control and close.

use crate::types::{LongString, ShortString};

method! {
    /// Opens a channel.
    ChannelOpen = (20, 10, "channel.open") {
        reserved out_of_band: ShortString,
    }
}

method! {
    /// The channel is open.
    ChannelOpenOk = (20, 11, "channel.open-ok") {
        reserved channel_id: LongString,
    }
}

method! {
    /// Asks the peer to pause (false) or resume (true) sending content.
    ChannelFlow = (20, 20, "channel.flow") {
        /// Whether content may flow.
        pub active: bool,
    }
}

method! {
    /// Confirms channel.flow.
    ChannelFlowOk = (20, 21, "channel.flow-ok") {
        /// The flow state now in effect.
        pub active: bool,
    }
}

method! {
    /// Closes the channel, with the reason and the method that caused it.
    ChannelClose = (20, 40, "channel.close") {
        /// A reply code ([`ReplyCode`](crate::ReplyCode)).
        pub reply_code: u16,
        /// Text for the peer's log.
        pub reply_text: ShortString,
        /// The class of the failing method, or 0.
        pub class_id: u16,
        /// The failing method, or 0.
        pub method_id: u16,
    }
}

method! {
    /// Confirms channel.close.
    ChannelCloseOk = (20, 41, "channel.close-ok") {}
}
