//! Differential fuzzing of our decoder against `mqttbytes` 0.6: `mqttbytes::v4` for
//! MQTT 3.1.1, `mqttbytes::v5` for MQTT 5.0 (the first input byte picks the version, the
//! rest is the stream). The logic is in `src/differential.rs`; this comment is the list
//! of every deliberate difference it allows, each with the statement of the standard
//! that decides it ("3.1.1" = MQTT 3.1.1, "5.0" = MQTT 5.0; where a rule has no
//! numbered statement, its section is given).
//!
//! When both decoders accept a packet, their readings are normalized (packet type,
//! flags, packet identifier, topic, payload, QoS, retain, dup, client identifier, keep
//! alive, clean start, will, user name and password, filters and options, reason
//! codes, properties) and must be equal. When only one accepts, one of the differences
//! below must explain it, and the target checks that the frame (or `mqttbytes`' reading
//! of it) really shows the violation our error names. Anything else fails the target.
//!
//! # Where `mqttbytes` is laxer: it accepts, we reject
//!
//! - **D1** Reserved fixed-header flag bits (PUBREL, SUBSCRIBE, UNSUBSCRIBE must carry
//!   0b0010, the others but PUBLISH 0): `mqttbytes` ignores them (except on a 5.0
//!   DISCONNECT). 3.1.1 [MQTT-2.2.2-1], [MQTT-2.2.2-2]; 5.0 [MQTT-2.1.3-1],
//!   [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1], [MQTT-3.15.1-1]. We:
//!   `InvalidHeaderFlags`.
//! - **D2** Variable byte integers not in their shortest form (remaining length,
//!   property length, Subscription Identifier): 5.0 [MQTT-1.5.5-1]; 3.1.1 section 2.2.3
//!   gives the encoding. We: `NonMinimalVariableInteger`.
//! - **D3** U+0000 in a UTF-8 string: 3.1.1 [MQTT-1.5.3-2]; 5.0 [MQTT-1.5.4-2]. We:
//!   `NullCharacter`. (The password is Binary Data and may hold 0x00: see D26.)
//! - **D4** `+` or `#` in a topic name: PUBLISH and will topic, 3.1.1 and 5.0
//!   [MQTT-3.3.2-2] (and [MQTT-4.7.0-1] in 5.0); Response Topic, 5.0 [MQTT-3.3.2-14].
//!   We: `WildcardInTopicName`.
//! - **D5** Empty topic names: 3.1.1 and 5.0 [MQTT-4.7.3-1] (PUBLISH and will topic,
//!   Response Topic); a 5.0 PUBLISH may have an empty topic only with a Topic Alias
//!   (5.0 section 3.3.2.1, "a Protocol Error if the Topic Name is zero length and there
//!   is no Topic Alias"). We: `EmptyTopicName`, `MissingTopicAlias`.
//! - **D6** DUP set on a QoS 0 PUBLISH: 3.1.1 and 5.0 [MQTT-3.3.1-2]. We: `DupWithQoS0`.
//! - **D7** Packet identifier 0 in PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK,
//!   UNSUBSCRIBE, UNSUBACK: 3.1.1 [MQTT-2.3.1-1] (and [MQTT-2.3.1-6], [MQTT-2.3.1-7]:
//!   the acknowledgement carries the identifier of the packet it acknowledges); 5.0
//!   [MQTT-2.2.1-3], [MQTT-2.2.1-4], [MQTT-2.2.1-5], [MQTT-2.2.1-6]. We: `ZeroPacketId`.
//! - **D8** Topic filter syntax (`mqttbytes` checks none): empty filter 3.1.1 and 5.0
//!   [MQTT-4.7.3-1]; `#` not alone in the last level, 3.1.1 [MQTT-4.7.1-2] / 5.0
//!   [MQTT-4.7.1-1]; `+` not a whole level, 3.1.1 [MQTT-4.7.1-3] / 5.0 [MQTT-4.7.1-2].
//!   We: `InvalidTopicFilter`.
//! - **D9** 5.0 shared subscriptions: a filter starting with `$share/` needs a non-empty
//!   ShareName [MQTT-4.8.2-1] without `/`, `+`, `#`, followed by `/` and a filter
//!   [MQTT-4.8.2-2] (we: `InvalidSharedSubscription`); No Local on a shared subscription
//!   is a Protocol Error [MQTT-3.8.3-4] (we: `NoLocalOnSharedSubscription`).
//! - **D10** Reserved bits of a SUBSCRIBE options byte (`mqttbytes` masks them off):
//!   3.1.1 bits 7-2 [MQTT-3-8.3-4]; 5.0 bits 7-6 [MQTT-3.8.3-5]. We:
//!   `InvalidSubscriptionOptions`.
//! - **D11** SUBSCRIBE or UNSUBSCRIBE without a topic filter: 3.1.1 [MQTT-3.8.3-3],
//!   [MQTT-3.10.3-2]; 5.0 [MQTT-3.8.3-2], [MQTT-3.10.3-2]. We: `NoTopicFilter`.
//! - **D12** CONNECT reserved flag (bit 0) set: 3.1.1 and 5.0 [MQTT-3.1.2-3]. We:
//!   `InvalidConnectFlags`.
//! - **D13** Not a verdict difference: `mqttbytes` cannot represent an empty user name
//!   or an empty password (`Login::read` turns "flag set, empty value" into no login, or
//!   into an empty string); both readings are compared with empty meaning absent.
//! - **D14** 3.1.1 Password Flag without User Name Flag: 3.1.1 [MQTT-3.1.2-22]. (Allowed
//!   in 5.0.) We: `PasswordWithoutUsername`.
//! - **D15** 3.1.1 empty client identifier with CleanSession 0: 3.1.1 [MQTT-3.1.3-7],
//!   [MQTT-3.1.3-8]. We: `EmptyClientId`.
//! - **D16** Bytes after the last field of CONNECT, CONNACK, PUBACK, PUBREC, PUBREL,
//!   PUBCOMP, PINGREQ, PINGRESP, DISCONNECT (`mqttbytes` stops reading and drops them):
//!   the Remaining Length is the length of exactly the fields the packet has (3.1.1
//!   section 2.2.3 and each packet's section, e.g. 3.4.1 "For the PUBACK Packet this has
//!   the value 2"; 5.0 section 2.1.4), so the packet cannot be parsed "according to
//!   this specification": a Malformed Packet (5.0 section 1.2, 4.13; unnumbered). We:
//!   `TrailingBytes`.
//! - **D17** CONNACK acknowledge flags bits 7-1 set: 5.0 [MQTT-3.2.2-1]; 3.1.1 section
//!   3.2.2.1 (same rule, unnumbered). We: `InvalidConnAckFlags`.
//! - **D18** Session Present set with a non-zero return / reason code: 3.1.1
//!   [MQTT-3.2.2-4]; 5.0 [MQTT-3.2.2-6]. We: `SessionPresentOnError`.
//! - **D19** 5.0 property values out of range (`mqttbytes` checks none): Payload Format
//!   Indicator, Request Problem / Response Information, Retain Available, Wildcard /
//!   Subscription Identifier / Shared Subscription Available other than 0 or 1, Maximum
//!   QoS other than 0 or 1 ("It is a Protocol Error to ... have a value other than 0 or
//!   1", sections 3.1.2.11.7, 3.1.2.11.6, 3.2.2.3.4, 3.2.2.3.5, 3.2.2.3.11-13, 3.3.2.3.2,
//!   3.1.3.2.3);
//!   Receive Maximum 0 (3.1.2.11.3, 3.2.2.3.3), Maximum Packet Size 0 (3.1.2.11.4,
//!   3.2.2.3.6), Subscription Identifier 0 (3.3.2.3.8, 3.8.2.1.2), Topic Alias 0
//!   [MQTT-3.3.2-8]. We: `InvalidPropertyValue(id)`.
//! - **D20** 5.0 Authentication Data without Authentication Method: a Protocol Error in
//!   CONNECT (section 3.1.2.11.10); our codec applies the same rule to CONNACK and AUTH,
//!   where Authentication Data only has a meaning within the method's exchange (section
//!   4.12). We: `AuthDataWithoutMethod`.
//! - **D21** 5.0 a property included more than once, other than User Property and (in
//!   PUBLISH) Subscription Identifier: each property's section says "It is a Protocol
//!   Error to include ... more than once" (also Subscription Identifier in SUBSCRIBE,
//!   3.8.2.1.2); `mqttbytes` keeps the last. We: `DuplicateProperty(id)`.
//! - **D22** 5.0 property lists whose Property Length does not match the properties
//!   (5.0 section 2.2.2.1): `mqttbytes` reads properties while its count is below the
//!   length, past the end of the list or into the payload, and never checks where it
//!   ends. Our errors for such frames are structural (`UnexpectedEnd`, `TrailingBytes`,
//!   `UnknownProperty`, `PropertyNotAllowed`, `InvalidUtf8`, `InvalidReasonCode`, ...).
//!   The target walks each declared list itself; when a list is malformed (or holds a
//!   duplicate, D21, or a non-minimal length, D2), the packet is invalid and any
//!   rejection is accepted.
//! - **D23** (a bug of `mqttbytes`, not a verdict difference) `mqttbytes` counts a
//!   Subscription Identifier one byte too long (`cursor += 1 + id_len` after the
//!   identifier byte was counted); in a PUBLISH with k Subscription Identifiers followed
//!   by a property of at most k bytes, it stops early and hands the remaining properties
//!   to the payload. Where its property lists differ from the target's own walk of a
//!   well-formed list, its reading is not compared (nor used to check our error).
//!
//! # Where `mqttbytes` is stricter or wrong: we accept, it rejects
//!
//! - **D24** AUTH (packet type 15, 5.0 section 3.15) does not exist in `mqttbytes`:
//!   `InvalidPacketType(15)`.
//! - **D25** 5.0 DISCONNECT with Remaining Length 0 (Normal disconnection, no
//!   properties) is refused with `PayloadRequired`, and with Remaining Length 1 (reason
//!   code only) with `InsufficientBytes(1)`, though 5.0 section 3.14.2.1 allows omitting
//!   the reason code and property length ("In this case the DISCONNECT has a Remaining
//!   Length of 0") and section 3.14.2.2.1 the property length ("If the Remaining Length
//!   is less than 2, a value of 0 is used").
//! - **D26** The password is Binary Data (3.1.1 section 3.1.3.5, 5.0 section 3.1.3.6),
//!   but `mqttbytes` reads it as a UTF-8 string: a password that is not UTF-8 gives
//!   `TopicNotUtf8`.
//!
//! # Not differences of meaning
//!
//! - **D27** A CONNECT carries its protocol level, and our decoder reads it in that
//!   version whatever the connection's; `mqttbytes::v4::read` would read a level 5
//!   CONNECT in the 3.1.1 layout and `v5::read` a level 4 CONNECT with will properties.
//!   The target gives each CONNECT to the module of its level.
//! - **D28** Size limits are measured differently (our maximum is the whole packet,
//!   `mqttbytes`' the remaining length); a size-limit error on either side ends the
//!   comparison. Both limits are 1 MiB, far above libFuzzer's inputs.
//! - **D29** `mqttbytes::v5` reports some malformed complete frames as
//!   `InsufficientBytes` after consuming them; the target counts "need more bytes" only
//!   when nothing was consumed.
//! - `mqttbytes::v5::Unsubscribe::read` prints `dbg!(pkid)` to stderr for every 5.0
//!   UNSUBSCRIBE; run this target with `-close_fd_mask=2` to silence it (a panic message
//!   is then lost too: reproduce a crash without the flag).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    switchyard_fuzz::differential::run(data);
});
