//! Configuration: the TOML file format, its embedded defaults and their validation.
//!
//! With no file, Switchyard serves the defaults below: MQTT on 127.0.0.1:1883, anonymous
//! clients allowed on loopback (as Mosquitto 2 does without a config file).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Shards, I/O backend and data directory.
    pub server: ServerConfig,
    /// The MQTT listener and broker limits.
    pub mqtt: MqttConfig,
    /// The STOMP listener and its limits.
    pub stomp: StompConfig,
    /// The WebSocket listener (MQTT and STOMP from browsers).
    pub websocket: WebSocketConfig,
    /// The AMQP 0-9-1 listener and what it negotiates.
    pub amqp: AmqpConfig,
    /// The durable log (one per shard, under `server.data_dir`).
    pub store: StoreConfig,
}

/// The durable log's settings: when it fsyncs and how large its segment files grow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Whether what must survive a crash is logged and recovered (on by default):
    /// durable queues and their persistent messages, durable exchanges and bindings,
    /// MQTT persistent sessions and retained messages.
    pub enabled: bool,
    /// When a commit reaches the disk: `batch` (default), `always` or `never`.
    pub fsync: FsyncPolicy,
    /// Largest segment file, in bytes (a record never spans two segments).
    pub segment_size: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            fsync: FsyncPolicy::Batch,
            segment_size: 64 * 1024 * 1024,
        }
    }
}

/// When the durable log calls fsync (fdatasync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Group commit: one fsync per commit covers every record appended since the last
    /// one (the shard commits once per loop iteration).
    Batch,
    /// One fsync per record: no two records share an fsync (slow; for comparison).
    Always,
    /// Write without fsync: a commit survives a process crash, not a power loss.
    Never,
}

/// The AMQP 0-9-1 gateway's listener and the limits connection.tune offers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpConfig {
    /// Addresses to listen on (AMQP 0-9-1 on each); empty for none.
    pub listen: Vec<SocketAddr>,
    /// Largest frame offered in connection.tune (bytes, header and frame-end included).
    pub frame_max: u32,
    /// Highest channel number offered in connection.tune.
    pub channel_max: u16,
    /// Heartbeat interval offered in connection.tune (seconds); 0 for none.
    pub heartbeat: u16,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5672))],
            frame_max: 131_072,
            channel_max: 2047,
            heartbeat: 60,
        }
    }
}

/// The STOMP gateway's listener and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StompConfig {
    /// Addresses to listen on (STOMP 1.0, 1.1 and 1.2 on each); empty for none.
    pub listen: Vec<SocketAddr>,
    /// Largest frame accepted from a client (command, headers and body), in bytes.
    pub max_frame_size: usize,
    /// Most headers in one frame.
    pub max_headers: usize,
    /// Longest header line, in bytes.
    pub max_header_length: usize,
    /// Heart-beat interval the server offers to send at and asks to receive at, in
    /// milliseconds (negotiated with the client's `heart-beat` header); 0 for none.
    pub heartbeat_ms: u32,
    /// Prefetch of a subscription without a `prefetch-count` header (`ack:auto`
    /// subscriptions too: it bounds what waits for the socket).
    pub default_prefetch: u32,
}

/// The WebSocket listener: MQTT on one path, STOMP on another.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSocketConfig {
    /// Addresses to listen on; empty for none.
    pub listen: Vec<SocketAddr>,
    /// Path of MQTT over WebSocket (subprotocol `mqtt`).
    pub mqtt_path: String,
    /// Path of STOMP over WebSocket (subprotocols `v10.stomp`, `v11.stomp`, `v12.stomp`).
    pub stomp_path: String,
    /// Largest message (after reassembling fragments) accepted from a client, in bytes.
    pub max_message_size: usize,
}

impl Default for StompConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 61613))],
            max_frame_size: 1024 * 1024,
            max_headers: 256,
            max_header_length: 8 * 1024,
            heartbeat_ms: 10_000,
            default_prefetch: 1000,
        }
    }
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8083))],
            mqtt_path: "/mqtt".to_owned(),
            stomp_path: "/stomp".to_owned(),
            max_message_size: 1024 * 1024,
        }
    }
}

/// Process-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Number of shards (threads, one per core); 0 means one per available core.
    pub shards: usize,
    /// `auto` (io_uring, falling back to polling), `uring` or `portable`.
    pub io_backend: IoBackend,
    /// Pin each shard thread to a core.
    pub pin_threads: bool,
    /// Where durable state lives.
    pub data_dir: PathBuf,
    /// Ready messages at which a queue (AMQP, STOMP) holds back its publishers until its
    /// consumers bring it under half of this; 0: never (queues then grow without bound,
    /// in memory). Raise it for queues that buffer while their consumer is away.
    pub queue_high_water: usize,
}

/// Which I/O driver the shards run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IoBackend {
    /// io_uring where it can be set up, else the portable driver (with a log line).
    Auto,
    /// io_uring only: fail to start without it.
    Uring,
    /// The polling (epoll) driver.
    Portable,
}

/// The MQTT broker's listener and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Addresses to listen on (MQTT 3.1.1 and 5 on each).
    pub listen: Vec<SocketAddr>,
    /// Accept clients that present no user name.
    pub allow_anonymous: bool,
    /// Largest packet accepted from a client, in bytes (fixed header included).
    pub max_packet_size: u32,
    /// Most simultaneous client connections; further ones are refused.
    pub max_connections: usize,
    /// Most unacknowledged QoS 1/2 messages in flight to one client (the server's
    /// Receive Maximum towards the client is min(this, the client's)).
    pub max_inflight: u16,
    /// Most QoS 1/2 messages queued for one client beyond its inflight window (also
    /// while it is offline with a persistent session). QoS 0 messages beyond the
    /// outbound byte limit are dropped and counted.
    pub max_queued_messages: usize,
    /// QoS 1/2 messages queued for a connected client at which the publishers of what
    /// it receives are held back (their PUBACK/PUBREC, AMQP/STOMP reads wait) until it
    /// catches up: a short queue is a short latency tail. At most `max_queued_messages`.
    pub backpressure_queued: usize,
    /// Most bytes buffered for writing to one client before QoS 0 messages are dropped.
    pub max_outbound_bytes: usize,
    /// Upper bound of the session expiry interval a client may ask for, in seconds.
    pub max_session_expiry: u32,
    /// Keep-alive the server imposes when a client asks for more (or for none), in
    /// seconds; 0 lets clients choose.
    pub max_keep_alive: u16,
    /// Topic Alias Maximum the server accepts from MQTT 5 clients.
    pub topic_alias_maximum: u16,
    /// Whether retained messages are stored.
    pub retain_available: bool,
    /// Seconds between `$SYS/` statistics updates; 0 turns them off.
    pub sys_interval: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            shards: 0,
            io_backend: IoBackend::Auto,
            pin_threads: true,
            data_dir: PathBuf::from("./switchyard-data"),
            queue_high_water: 10_000,
        }
    }
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 1883))],
            allow_anonymous: true,
            max_packet_size: 1024 * 1024,
            max_connections: 100_000,
            max_inflight: 32,
            max_queued_messages: 1000,
            backpressure_queued: 100,
            max_outbound_bytes: 1024 * 1024,
            max_session_expiry: u32::MAX,
            max_keep_alive: 0,
            topic_alias_maximum: 64,
            retain_available: true,
            sys_interval: 10,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path} is not a valid configuration")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What went wrong, with the line.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        let m = &self.mqtt;
        if m.listen.is_empty() {
            return invalid("mqtt.listen needs at least one address");
        }
        if m.max_packet_size < 64 {
            return invalid("mqtt.max_packet_size must be at least 64 bytes");
        }
        if m.max_packet_size > switchyard_mqtt::MAX_REMAINING_LENGTH + 5 {
            return invalid("mqtt.max_packet_size exceeds what MQTT can express (268435460)");
        }
        if m.max_inflight == 0 {
            return invalid("mqtt.max_inflight must be at least 1");
        }
        if m.max_outbound_bytes < m.max_packet_size as usize {
            return invalid("mqtt.max_outbound_bytes must be at least mqtt.max_packet_size");
        }
        if m.allow_anonymous && m.listen.iter().any(|a| !a.ip().is_loopback()) {
            // Mosquitto 2 refuses anonymous clients on non-loopback listeners unless told;
            // the explicit `allow_anonymous = true` in a file is that telling.
        }
        let st = &self.stomp;
        if st.max_frame_size < 1024 || st.max_headers == 0 || st.max_header_length < 256 {
            return invalid(
                "stomp.max_frame_size must be at least 1024, max_headers at least 1, \
                 max_header_length at least 256",
            );
        }
        let am = &self.amqp;
        if am.frame_max < 4096 || am.channel_max == 0 {
            return invalid("amqp.frame_max must be at least 4096, channel_max at least 1");
        }
        let ws = &self.websocket;
        if !ws.mqtt_path.starts_with('/') || !ws.stomp_path.starts_with('/') {
            return invalid("websocket.mqtt_path and stomp_path must start with '/'");
        }
        if ws.mqtt_path == ws.stomp_path {
            return invalid("websocket.mqtt_path and stomp_path must differ");
        }
        if ws.max_message_size < 1024 {
            return invalid("websocket.max_message_size must be at least 1024");
        }
        if self.server.shards > 1024 {
            return invalid("server.shards is at most 1024");
        }
        if !(crate::store::MIN_SEGMENT_SIZE..=crate::store::MAX_SEGMENT_SIZE)
            .contains(&self.store.segment_size)
        {
            return invalid("store.segment_size must be between 64 KiB and 4 GiB");
        }
        Ok(())
    }

    /// The shard count to run with.
    pub fn shard_count(&self) -> usize {
        match self.server.shards {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_valid_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("switchyard.example.toml");
        let config = Config::load(&path).unwrap();
        let defaults = Config::default();
        assert_eq!(config.mqtt.listen, defaults.mqtt.listen);
        assert_eq!(config.stomp.listen, defaults.stomp.listen);
        assert_eq!(config.stomp.max_frame_size, defaults.stomp.max_frame_size);
        assert_eq!(config.stomp.heartbeat_ms, defaults.stomp.heartbeat_ms);
        assert_eq!(config.websocket.listen, defaults.websocket.listen);
        assert_eq!(config.websocket.stomp_path, defaults.websocket.stomp_path);
        assert_eq!(config.mqtt.max_packet_size, defaults.mqtt.max_packet_size);
        assert_eq!(config.server.io_backend, defaults.server.io_backend);
        assert_eq!(config.amqp.listen, defaults.amqp.listen);
        assert_eq!(config.amqp.frame_max, defaults.amqp.frame_max);
        assert_eq!(config.amqp.channel_max, defaults.amqp.channel_max);
        assert_eq!(config.amqp.heartbeat, defaults.amqp.heartbeat);
        assert_eq!(config.store, defaults.store);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let err = toml::from_str::<Config>("[mqtt]\nlisten_on = []\n").unwrap_err();
        assert!(err.to_string().contains("listen_on"), "{err}");
        let config: Config = toml::from_str("[mqtt]\nmax_inflight = 0\n").unwrap();
        assert!(
            matches!(config.validate(), Err(ConfigError::Invalid(m)) if m.contains("max_inflight"))
        );
        let config: Config = toml::from_str("[mqtt]\nlisten = []\n").unwrap();
        assert!(config.validate().is_err());
    }
}
