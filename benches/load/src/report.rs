//! The results of a run as a human table and as JSON.

use std::fmt::Write as _;

use switchyard_mqtt::{Protocol, QoS};

use crate::conns::{IdleOutcome, RateOutcome};
use crate::run::{Config, Outcome, Topology};
use crate::svg;

/// The numbers a run reports, computed once for both formats.
pub(crate) struct Summary<'a> {
    config: &'a Config,
    label: &'a str,
    outcome: &'a Outcome,
    delivered_per_s: f64,
    published_per_s: f64,
    /// p50, p99, p99.9, max, mean, in µs.
    latency_us: [f64; 5],
}

impl<'a> Summary<'a> {
    pub(crate) fn new(config: &'a Config, label: &'a str, outcome: &'a Outcome) -> Self {
        let secs = config.duration.as_secs_f64();
        let h = &outcome.latency;
        let us = |ns: u64| ns as f64 / 1e3;
        Self {
            config,
            label,
            outcome,
            delivered_per_s: outcome.received_in_window as f64 / secs,
            published_per_s: outcome.published_in_window as f64 / secs,
            latency_us: [
                us(h.value_at_quantile(0.5)),
                us(h.value_at_quantile(0.99)),
                us(h.value_at_quantile(0.999)),
                us(h.max()),
                h.mean() / 1e3,
            ],
        }
    }

    fn scenario(&self) -> String {
        let c = self.config;
        let shape = match c.topology {
            Topology::Pairs(n) => format!("{n} pairs"),
            Topology::Fanout(m) => format!("fan-out 1 -> {m}"),
            Topology::Fanin(n) => format!("fan-in {n} -> 1 (wildcard)"),
        };
        let mode = match c.rate {
            Some(r) => format!("open loop {r} msg/s per publisher"),
            None if c.qos == QoS::AtMostOnce => "closed loop".to_owned(),
            None => format!("closed loop, inflight {}", c.inflight),
        };
        let protocol = match (&c.stomp, &c.amqp) {
            (None, Some(a)) => format!(
                "AMQP 0-9-1 queue per pair, {}{}{}{}",
                if a.no_ack {
                    "no-ack".to_owned()
                } else {
                    format!("manual ack every {}, prefetch {}", a.ack_every, a.prefetch)
                },
                if a.confirms { ", confirms" } else { "" },
                if a.durable {
                    ", durable queues, persistent messages"
                } else {
                    ""
                },
                match (c.rate, a.backlog) {
                    (None, 0) => ", backlog unbounded".to_owned(),
                    (None, b) => format!(", backlog {b}"),
                    (Some(_), _) => String::new(),
                }
            ),
            (None, None) => format!(
                "QoS {}, MQTT {}{}",
                qos_number(c.qos),
                version(c.protocol),
                match (c.rate, c.backlog) {
                    (None, b) if b > 0 => format!(", backlog {b}"),
                    _ => String::new(),
                }
            ),
            (Some(s), _) => format!(
                "STOMP 1.2 /{}/, ack {}{}{}",
                s.destination_kind.as_str(),
                s.ack.as_str(),
                s.prefetch
                    .map_or(String::new(), |n| format!(", prefetch {n}")),
                if s.receipts { ", receipts" } else { "" }
            ),
        };
        format!(
            "{shape} x {} B, {protocol}, {mode}, {} s after {} s warm-up",
            c.payload,
            c.duration.as_secs_f64(),
            c.warmup.as_secs_f64()
        )
    }

    /// The human table.
    pub(crate) fn table(&self) -> String {
        let o = self.outcome;
        let [p50, p99, p999, max, mean] = self.latency_us;
        let mut t = String::new();
        let label = if self.label.is_empty() {
            String::new()
        } else {
            format!("[{}] ", self.label)
        };
        let _ = writeln!(t, "{label}{} against {}", self.scenario(), self.config.addr);
        let _ = writeln!(
            t,
            "  delivered     {:>12} msg/s",
            group(self.delivered_per_s)
        );
        let _ = writeln!(
            t,
            "  published     {:>12} msg/s",
            group(self.published_per_s)
        );
        let _ = writeln!(
            t,
            "  latency (µs)  p50 {}  p99 {}  p99.9 {}  max {}  mean {}",
            group(p50),
            group(p99),
            group(p999),
            group(max),
            group(mean)
        );
        let _ = writeln!(
            t,
            "  totals        published {}  acked {}  received {} of {} owed (drain {:.1} s)",
            group(o.published as f64),
            group(o.acked as f64),
            group(o.received as f64),
            group(o.expected as f64),
            o.drain_time.as_secs_f64()
        );
        if let Some((cpu, wall)) = o.cpu {
            let _ = writeln!(
                t,
                "  generator CPU {cpu:.1} s over {wall:.1} s ({:.0}% of one core)",
                100.0 * cpu / wall
            );
        }
        let _ = writeln!(
            t,
            "  lost {} (of them acknowledged by the broker: {})  duplicated {}  reordered {}",
            group(o.lost as f64),
            group(o.acked_lost as f64),
            group(o.extra as f64),
            group(o.reordered as f64)
        );
        if self.config.qos != QoS::AtMostOnce && (o.lost > 0 || o.extra > 0) {
            let what = if self.config.stomp.is_some() {
                "RECEIPTED SEND"
            } else if self.config.amqp.is_some() {
                "CONFIRMED PUBLISH"
            } else {
                "QoS 1"
            };
            let _ = writeln!(t, "  {what} MISMATCH (subscriber: published/received):");
            for (i, sent, received) in o.mismatches.iter().take(20) {
                let _ = writeln!(t, "    subscriber {i}: {sent}/{received}");
            }
        }
        for failure in &o.failures {
            let _ = writeln!(t, "  FAILED: {failure}");
        }
        t
    }

    /// The same numbers as one JSON object. For STOMP, `mqtt` is null, `stomp` holds the
    /// options, and `qos` is 1 with receipts (acknowledged sends), else 0; for AMQP, the
    /// same with `amqp` and confirms.
    pub(crate) fn json(&self) -> String {
        let c = self.config;
        let o = self.outcome;
        let [p50, p99, p999, max, mean] = self.latency_us;
        let (scenario, publishers, subscribers) = match c.topology {
            Topology::Pairs(n) => ("pairs", n, n),
            Topology::Fanout(m) => ("fanout", 1, m),
            Topology::Fanin(n) => ("fanin", n, 1),
        };
        let failures: Vec<String> = o.failures.iter().map(|f| json_string(f)).collect();
        let amqp = c.amqp.as_ref().map_or("null".to_owned(), |a| {
            format!(
                "{{\"version\":\"0-9-1\",\"ack\":{},\"prefetch\":{},\"ack_every\":{},\"confirms\":{},\"durable\":{},\"backlog\":{}}}",
                json_string(a.ack_str()),
                if a.no_ack { "null".to_owned() } else { a.prefetch.to_string() },
                if a.no_ack { "null".to_owned() } else { a.ack_every.to_string() },
                a.confirms,
                a.durable,
                a.backlog
            )
        });
        let (protocol, stomp) = match &c.stomp {
            None if c.amqp.is_some() => ("amqp", "null".to_owned()),
            None => ("mqtt", "null".to_owned()),
            Some(s) => (
                "stomp",
                format!(
                    "{{\"version\":\"1.2\",\"destination_kind\":{},\"ack\":{},\"prefetch\":{},\"receipts\":{}}}",
                    json_string(s.destination_kind.as_str()),
                    json_string(s.ack.as_str()),
                    s.prefetch.map_or("null".to_owned(), |n| n.to_string()),
                    s.receipts
                ),
            ),
        };
        let mismatches: Vec<String> = o
            .mismatches
            .iter()
            .map(|(i, s, r)| format!("[{i},{s},{r}]"))
            .collect();
        format!(
            concat!(
                "{{\"label\":{},\"broker\":{},\"scenario\":{},\"description\":{},",
                "\"publishers\":{},\"subscribers\":{},\"payload_bytes\":{},\"qos\":{},",
                "\"protocol\":{},\"mqtt\":{},\"stomp\":{},\"amqp\":{},\"mode\":{},\"rate_per_publisher\":{},\"inflight\":{},\"sub_threads\":{},\"backlog\":{},",
                "\"warmup_s\":{},\"duration_s\":{},",
                "\"delivered_per_s\":{:.1},\"published_per_s\":{:.1},",
                "\"latency_us\":{{\"p50\":{:.1},\"p99\":{:.1},\"p99_9\":{:.1},\"max\":{:.1},\"mean\":{:.1}}},",
                "\"published\":{},\"acked\":{},\"received\":{},\"expected\":{},",
                "\"received_in_window\":{},\"lost\":{},\"acked_lost\":{},\"duplicated\":{},\"reordered\":{},",
                "\"mismatches\":[{}],\"drain_s\":{:.3},\"generator_cpu_s\":{},\"wall_s\":{},",
                "\"percentiles_us\":{},\"per_second\":{},",
                "\"failures\":[{}]}}\n"
            ),
            json_string(self.label),
            json_string(&c.addr.to_string()),
            json_string(scenario),
            json_string(&self.scenario()),
            publishers,
            subscribers,
            c.payload,
            qos_number(c.qos),
            json_string(protocol),
            if c.stomp.is_some() || c.amqp.is_some() {
                "null".to_owned()
            } else {
                json_string(version(c.protocol))
            },
            stomp,
            amqp,
            json_string(if c.rate.is_some() { "open" } else { "closed" }),
            c.rate.map_or("null".to_owned(), |r| r.to_string()),
            c.inflight,
            c.sub_threads,
            if c.stomp.is_none() && c.amqp.is_none() && c.rate.is_none() && c.backlog > 0 {
                c.backlog.to_string()
            } else {
                "null".to_owned()
            },
            c.warmup.as_secs_f64(),
            c.duration.as_secs_f64(),
            self.delivered_per_s,
            self.published_per_s,
            p50,
            p99,
            p999,
            max,
            mean,
            o.published,
            o.acked,
            o.received,
            o.expected,
            o.received_in_window,
            o.lost,
            o.acked_lost,
            o.extra,
            o.reordered,
            mismatches.join(","),
            o.drain_time.as_secs_f64(),
            o.cpu.map_or("null".to_owned(), |(c, _)| format!("{c:.2}")),
            o.cpu.map_or("null".to_owned(), |(_, w)| format!("{w:.2}")),
            svg::percentiles_json(&svg::percentiles_us(&o.latency)),
            svg::per_second_json(&o.per_second),
            failures.join(","),
        )
    }

    /// The plots of the run as SVG.
    pub(crate) fn svg(&self) -> String {
        let title = if self.label.is_empty() {
            self.scenario()
        } else {
            format!("[{}] {}", self.label, self.scenario())
        };
        svg::render(
            &title,
            &self.outcome.per_second,
            ("published", "delivered"),
            &svg::percentiles_us(&self.outcome.latency),
            "end-to-end latency",
        )
    }
}

fn qos_number(qos: QoS) -> u8 {
    qos as u8
}

fn version(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::V311 => "3.1.1",
        Protocol::V5 => "5",
    }
}

/// A number rounded to an integer with thousands separators: 1234567.8 -> "1,234,568".
pub(crate) fn group(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The idle-connections result as a table and as JSON (the keys the compare scripts read:
/// `delivered_per_s` is the connections opened per second, `idle` the memory).
pub(crate) fn idle_report(label: &str, addr: &str, o: &IdleOutcome) -> (String, String) {
    let per_conn = o.bytes_per_conn();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}idle MQTT connections against {addr}: {} of {} open in {:.1} s ({} still open after the settle)",
        if label.is_empty() {
            String::new()
        } else {
            format!("[{label}] ")
        },
        group(o.connected as f64),
        group(o.target as f64),
        o.connect_s,
        group(o.alive_after as f64)
    );
    if let (Some(b), Some(a)) = (o.rss_before_kib, o.rss_after_kib) {
        let _ = writeln!(
            t,
            "  broker RSS    {} KiB before, {} KiB after: {} bytes per connection",
            group(b as f64),
            group(a as f64),
            group(per_conn.unwrap_or(0.0))
        );
    }
    for f in &o.failures {
        let _ = writeln!(t, "  STOPPED: {f}");
    }
    let opt = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
    let failures: Vec<String> = o.failures.iter().map(|f| json_string(f)).collect();
    let json = format!(
        concat!(
            "{{\"label\":{},\"broker\":{},\"scenario\":\"idle\",\"protocol\":\"mqtt\",\"qos\":0,",
            "\"delivered_per_s\":{:.1},\"lost\":0,\"duplicated\":0,\"expected\":0,",
            "\"idle\":{{\"target\":{},\"connected\":{},\"alive_after\":{},\"connect_s\":{:.3},",
            "\"rss_before_kib\":{},\"rss_after_kib\":{},\"bytes_per_conn\":{}}},",
            "\"generator_cpu_s\":{},\"wall_s\":{},\"failures\":[{}]}}\n"
        ),
        json_string(label),
        json_string(addr),
        o.connected as f64 / o.connect_s.max(1e-9),
        o.target,
        o.connected,
        o.alive_after,
        o.connect_s,
        opt(o.rss_before_kib),
        opt(o.rss_after_kib),
        per_conn.map_or("null".to_owned(), |v| format!("{v:.1}")),
        o.cpu.map_or("null".to_owned(), |(c, _)| format!("{c:.2}")),
        o.cpu.map_or("null".to_owned(), |(_, w)| format!("{w:.2}")),
        failures.join(","),
    );
    (t, json)
}

/// The connect-rate result as a table, JSON (`delivered_per_s` is handshakes per second,
/// the latency that from connect() to CONNACK) and SVG.
pub(crate) fn rate_report(
    label: &str,
    addr: &str,
    duration_s: f64,
    o: &RateOutcome,
) -> (String, String, String) {
    let per_s = o.in_window as f64 / duration_s;
    let h = &o.latency;
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let what = format!(
        "{}connect rate, {} clients in a CONNECT/CONNACK/DISCONNECT loop against {addr}",
        if label.is_empty() {
            String::new()
        } else {
            format!("[{label}] ")
        },
        o.clients
    );
    let mut t = String::new();
    let _ = writeln!(t, "{what}");
    let _ = writeln!(t, "  handshakes    {:>12} /s", group(per_s));
    let _ = writeln!(
        t,
        "  latency (µs)  p50 {}  p99 {}  p99.9 {}  max {}",
        group(us(0.5)),
        group(us(0.99)),
        group(us(0.999)),
        group(h.max() as f64 / 1e3)
    );
    let _ = writeln!(
        t,
        "  totals        {} handshakes, {} errors",
        group(o.total as f64),
        group(o.errors as f64)
    );
    for f in &o.failures {
        let _ = writeln!(t, "  ERROR: {f}");
    }
    let failures: Vec<String> = o.failures.iter().map(|f| json_string(f)).collect();
    let json = format!(
        concat!(
            "{{\"label\":{},\"broker\":{},\"scenario\":\"connect-rate\",\"protocol\":\"mqtt\",\"qos\":0,",
            "\"clients\":{},\"delivered_per_s\":{:.1},\"handshakes\":{},\"errors\":{},",
            "\"lost\":0,\"duplicated\":0,\"expected\":0,",
            "\"latency_us\":{{\"p50\":{:.1},\"p99\":{:.1},\"p99_9\":{:.1},\"max\":{:.1},\"mean\":{:.1}}},",
            "\"percentiles_us\":{},\"per_second\":{},",
            "\"generator_cpu_s\":{},\"wall_s\":{},\"failures\":[{}]}}\n"
        ),
        json_string(label),
        json_string(addr),
        o.clients,
        per_s,
        o.total,
        o.errors,
        us(0.5),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1e3,
        h.mean() / 1e3,
        svg::percentiles_json(&svg::percentiles_us(h)),
        svg::per_second_json(&o.per_second),
        o.cpu.map_or("null".to_owned(), |(c, _)| format!("{c:.2}")),
        o.cpu.map_or("null".to_owned(), |(_, w)| format!("{w:.2}")),
        failures.join(","),
    );
    let plot = svg::render(
        &what,
        &o.per_second,
        ("", "handshakes"),
        &svg::percentiles_us(h),
        "connect() to CONNACK",
    );
    (t, json, plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0.4), "0");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(1000.0), "1,000");
        assert_eq!(group(1_234_567.8), "1,234,568");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
