//! Methods: one struct per method of AMQP 0-9-1 and RabbitMQ's extensions, one file per
//! class, and [`Method`] over them all.
//!
//! Each struct is declared once, in the spec's field order, through the `method!` macro,
//! which derives the struct, its decoder and its encoder from that one list. Fields the
//! spec marks reserved (`ticket`, `out-of-band`, `known-hosts`, `insist`, ...) are read
//! and ignored, written as zero or empty, and are not part of the structs.

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::table::FieldTable;
use crate::types::{LongString, ShortString};
use crate::writer::Writer;

/// A wire type of method fields: `octet` (u8), `short` (u16), `long` (u32),
/// `longlong` (u64), `bit` (bool), `shortstr`, `longstr` and `table`.
pub(crate) trait Field: Sized {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;
}

impl Field for u8 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u8()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(*self);
        Ok(())
    }
}

impl Field for u16 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u16()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(*self);
        Ok(())
    }
}

impl Field for u32 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u32(*self);
        Ok(())
    }
}

impl Field for u64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u64(*self);
        Ok(())
    }
}

impl Field for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bit()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.bit(*self);
        Ok(())
    }
}

impl Field for ShortString {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.short_string()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.short_string(self);
        Ok(())
    }
}

impl Field for LongString {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.long_string()
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.long_string(self)
    }
}

impl Field for FieldTable {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.table(1)
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.table(self, 1)
    }
}

macro_rules! read_field {
    (field $f:ident $r:ident $t:ty) => {
        let $f = <$t as $crate::method::Field>::read($r)?;
    };
    (reserved $f:ident $r:ident $t:ty) => {
        let _ = <$t as $crate::method::Field>::read($r)?;
    };
}

macro_rules! write_field {
    (field $s:tt $f:ident $w:ident $t:ty) => {
        $crate::method::Field::write(&$s.$f, $w)?;
    };
    (reserved $s:tt $f:ident $w:ident $t:ty) => {
        <$t as $crate::method::Field>::write(&<$t as Default>::default(), $w)?;
    };
}

/// Declares a method struct from its fields in wire order: `pub name: Type,` for a
/// field, `reserved name: Type,` for a reserved one.
macro_rules! method {
    (@munch $hdr:tt [$($pub:tt)*] [$($wire:tt)*]
        reserved $f:ident : $t:ty, $($rest:tt)*) => {
        method!(@munch $hdr [$($pub)*] [$($wire)* (reserved $f $t)] $($rest)*);
    };
    (@munch $hdr:tt [$($pub:tt)*] [$($wire:tt)*]
        $(#[doc = $fd:literal])* pub $f:ident : $t:ty, $($rest:tt)*) => {
        method!(@munch $hdr [$($pub)* ([$(#[doc = $fd])*] $f $t)] [$($wire)* (field $f $t)] $($rest)*);
    };
    (@munch $hdr:tt $pub:tt $wire:tt) => {
        method!(@emit $hdr $pub $wire);
    };
    (@emit [[$(#[doc = $doc:literal])*] $name:ident $class:literal $id:literal $label:literal]
        [$( ([$(#[doc = $fd:literal])*] $f:ident $t:ty) )*]
        [$( ($k:ident $wf:ident $wt:ty) )*]) => {
        $(#[doc = $doc])*
        #[doc = ""]
        #[doc = concat!("`", $label, "`: class ", $class, ", method ", $id, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
        pub struct $name {
            $( $(#[doc = $fd])* pub $f: $t, )*
        }

        impl $name {
            /// The class id.
            pub const CLASS_ID: u16 = $class;
            /// The method id.
            pub const METHOD_ID: u16 = $id;
            /// The spec's name, `class.method`.
            pub const NAME: &'static str = $label;

            #[allow(unused_variables, reason = "methods without fields read nothing")]
            #[inline]
            pub(crate) fn decode_fields(
                r: &mut $crate::reader::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                $( read_field!($k $wf r $wt); )*
                Ok(Self { $($f,)* })
            }

            #[allow(unused_variables, reason = "methods without fields write nothing")]
            #[inline]
            pub(crate) fn encode_fields(
                &self,
                w: &mut $crate::writer::Writer<'_>,
            ) -> Result<(), $crate::error::EncodeError> {
                $( write_field!($k self $wf w $wt); )*
                Ok(())
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        $name:ident = ($class:literal, $id:literal, $label:literal) { $($fields:tt)* }
    ) => {
        method!(@munch [[$(#[doc = $doc])*] $name $class $id $label] [] [] $($fields)*);
    };
}

mod basic;
mod channel;
mod confirm;
mod connection;
mod exchange;
mod queue;
mod tx;

pub use basic::*;
pub use channel::*;
pub use confirm::*;
pub use connection::*;
pub use exchange::*;
pub use queue::*;
pub use tx::*;

/// The class ids of 0-9-1 (and RabbitMQ's confirm class).
pub mod class {
    /// connection
    pub const CONNECTION: u16 = 10;
    /// channel
    pub const CHANNEL: u16 = 20;
    /// exchange
    pub const EXCHANGE: u16 = 40;
    /// queue
    pub const QUEUE: u16 = 50;
    /// basic
    pub const BASIC: u16 = 60;
    /// confirm (RabbitMQ's extension)
    pub const CONFIRM: u16 = 85;
    /// tx
    pub const TX: u16 = 90;
}

macro_rules! methods {
    ($( $variant:ident ),* $(,)?) => {
        /// Any method of AMQP 0-9-1 with RabbitMQ's extensions; each variant holds the
        /// struct of the same name.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
        #[non_exhaustive]
        pub enum Method {
            $(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                $variant($variant),
            )*
        }

        impl Method {
            /// The `(class id, method id, name)` of every method, in the spec's order.
            pub const ALL: &'static [(u16, u16, &'static str)] = &[
                $( ($variant::CLASS_ID, $variant::METHOD_ID, $variant::NAME), )*
            ];

            /// The class id.
            pub const fn class_id(&self) -> u16 {
                match self { $( Self::$variant(_) => $variant::CLASS_ID, )* }
            }

            /// The method id.
            pub const fn method_id(&self) -> u16 {
                match self { $( Self::$variant(_) => $variant::METHOD_ID, )* }
            }

            /// The spec's name, `class.method` (`basic.publish`).
            pub const fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $variant::NAME, )* }
            }

            /// Decodes a method frame's payload: class id, method id, fields, and
            /// nothing after them.
            pub(crate) fn decode_payload(payload: &Bytes) -> Result<Self, DecodeError> {
                let mut r = Reader::new(payload);
                let class_id = r.u16()?;
                let method_id = r.u16()?;
                let method = match (class_id, method_id) {
                    $(
                        ($variant::CLASS_ID, $variant::METHOD_ID) =>
                            Self::$variant($variant::decode_fields(&mut r)?),
                    )*
                    _ => return Err(DecodeError::UnknownMethod { class_id, method_id }),
                };
                r.finish()?;
                Ok(method)
            }

            /// Writes class id, method id and fields.
            pub(crate) fn encode_payload(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                w.u16(self.class_id());
                w.u16(self.method_id());
                match self { $( Self::$variant(m) => m.encode_fields(w), )* }
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl Method {
            /// The method at `index` of [`Method::ALL`] (modulo its length), its fields
            /// drawn from `u`: generators use it to reach every method evenly.
            pub fn arbitrary_of(
                index: usize,
                u: &mut arbitrary::Unstructured<'_>,
            ) -> arbitrary::Result<Self> {
                let wanted = index % Self::ALL.len();
                let mut i = 0usize;
                $(
                    if wanted == i {
                        return Ok(Self::$variant(arbitrary::Arbitrary::arbitrary(u)?));
                    }
                    i += 1;
                )*
                let _ = i;
                Err(arbitrary::Error::IncorrectFormat)
            }
        }

        $(
            impl From<$variant> for Method {
                fn from(m: $variant) -> Self {
                    Self::$variant(m)
                }
            }
        )*
    };
}

methods! {
    ConnectionStart, ConnectionStartOk, ConnectionSecure, ConnectionSecureOk,
    ConnectionTune, ConnectionTuneOk, ConnectionOpen, ConnectionOpenOk,
    ConnectionClose, ConnectionCloseOk, ConnectionBlocked, ConnectionUnblocked,
    ConnectionUpdateSecret, ConnectionUpdateSecretOk,
    ChannelOpen, ChannelOpenOk, ChannelFlow, ChannelFlowOk, ChannelClose, ChannelCloseOk,
    ExchangeDeclare, ExchangeDeclareOk, ExchangeDelete, ExchangeDeleteOk,
    ExchangeBind, ExchangeBindOk, ExchangeUnbind, ExchangeUnbindOk,
    QueueDeclare, QueueDeclareOk, QueueBind, QueueBindOk, QueuePurge, QueuePurgeOk,
    QueueDelete, QueueDeleteOk, QueueUnbind, QueueUnbindOk,
    BasicQos, BasicQosOk, BasicConsume, BasicConsumeOk, BasicCancel, BasicCancelOk,
    BasicPublish, BasicReturn, BasicDeliver, BasicGet, BasicGetOk, BasicGetEmpty,
    BasicAck, BasicReject, BasicRecoverAsync, BasicRecover, BasicRecoverOk, BasicNack,
    ConfirmSelect, ConfirmSelectOk,
    TxSelect, TxSelectOk, TxCommit, TxCommitOk, TxRollback, TxRollbackOk,
}

impl Method {
    /// Whether a content header and body frames follow this method (basic.publish,
    /// basic.return, basic.deliver, basic.get-ok).
    pub const fn has_content(&self) -> bool {
        matches!(
            self,
            Self::BasicPublish(_)
                | Self::BasicReturn(_)
                | Self::BasicDeliver(_)
                | Self::BasicGetOk(_)
        )
    }
}
