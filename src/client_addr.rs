//! Which address a request really comes from.
//!
//! The TCP peer, unless the peer is one of the `TRUSTED_PROXIES`: then the proxies' own record of
//! the hops is believed. `X-Forwarded-For` is read when present (every common proxy appends to
//! it), otherwise `Forwarded` (RFC 7239). The chain is walked from the right, past every hop
//! that is itself a trusted proxy; the first address that is not is the client. Everything to its
//! left was written by the client and is never believed. A chain that runs out, or reaches an
//! entry that is not an address (`unknown`, an obfuscated name, garbage), stops at the last
//! address a trusted proxy vouched for.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
pub use ipnet::IpNet;

/// Parses `TRUSTED_PROXIES`: comma-separated CIDRs (`10.0.0.0/8`, `fd00::/8`) or single
/// addresses; empty means no proxy is trusted.
pub fn parse_networks(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| entry.parse::<IpAddr>().map(|ip| IpNet::from(ip.to_canonical())))
                .map_err(|_| format!("`{entry}` is neither a CIDR such as 10.0.0.0/8 nor an IP address"))
        })
        .collect()
}

/// The address the request comes from, as far as the trusted proxies vouch for it. `None` only
/// when the connection has no peer address (a test request, a Unix socket).
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    Some(from_chain(peer, req.headers(), trusted))
}

fn from_chain(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The hops the proxies recorded, leftmost (furthest) first; `None` for an entry that is not an
/// address. Several header lines are one list, in order.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| headers.get_all(name).map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let xff = lines("x-forwarded-for");
    if !xff.is_empty() {
        return xff
            .into_iter()
            .flat_map(|line| match line {
                Some(line) => line.split(',').map(parse_node).collect(),
                None => vec![None],
            })
            .collect();
    }
    lines("forwarded")
        .into_iter()
        .flat_map(|line| match line {
            Some(line) => split_outside_quotes(line, ',').into_iter().map(forwarded_for).collect(),
            None => vec![None],
        })
        .collect()
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_outside_quotes(element, ';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"')))?
    })
}

/// An address, with or without a port: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    let ip = raw
        .parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| raw.strip_prefix('[')?.strip_suffix(']')?.parse::<IpAddr>().ok())?;
    Some(ip.to_canonical())
}

/// Splits on `separator` except inside double quotes (RFC 7239 values may be quoted strings).
fn split_outside_quotes(raw: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in raw.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&raw[start..i]);
            start = i + 1;
        }
    }
    parts.push(&raw[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn from(peer: &str, headers: &[(&str, &str)], trusted: &str) -> Option<IpAddr> {
        let mut req = TestRequest::default().peer_addr(SocketAddr::new(ip(peer), 40000));
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        client_ip(&req.to_http_request(), &parse_networks(trusted).unwrap())
    }

    #[test]
    fn without_trusted_proxies_headers_are_ignored() {
        let spoofed = [("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.10")];
        assert_eq!(from("198.51.100.7", &spoofed, ""), Some(ip("198.51.100.7")));
        // A peer outside the trusted ranges is the client, whatever it claims.
        assert_eq!(from("198.51.100.7", &spoofed, "10.0.0.0/8"), Some(ip("198.51.100.7")));
        assert_eq!(client_ip(&TestRequest::default().to_http_request(), &[]), None);
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = "10.0.0.0/8, 192.168.1.1";
        // The client's own claim (left) is not believed; the first proxy recorded the real peer.
        let chain = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")];
        assert_eq!(from("10.0.0.1", &chain, trusted), Some(ip("203.0.113.9")));
        // One proxy: the last entry.
        assert_eq!(from("192.168.1.1", &[("x-forwarded-for", "203.0.113.9")], trusted), Some(ip("203.0.113.9")));
        // Several header lines form one list.
        let lines = [("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9, 10.0.0.3")];
        assert_eq!(from("10.0.0.1", &lines, trusted), Some(ip("203.0.113.9")));
        // Every hop trusted: the leftmost is as far as it goes.
        assert_eq!(from("10.0.0.1", &[("x-forwarded-for", "10.9.9.9, 10.0.0.2")], trusted), Some(ip("10.9.9.9")));
        // A trusted peer that sent no header is the client itself.
        assert_eq!(from("10.0.0.1", &[], trusted), Some(ip("10.0.0.1")));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = "10.0.0.0/8";
        let header = [("forwarded", r#"for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.2"#)];
        assert_eq!(from("10.0.0.1", &header, trusted), Some(ip("2001:db8:cafe::17")));
        let with_port = [("forwarded", "for=\"203.0.113.9:8080\";by=10.0.0.1")];
        assert_eq!(from("10.0.0.1", &with_port, trusted), Some(ip("203.0.113.9")));
        // X-Forwarded-For wins when both are sent.
        let both = [("forwarded", "for=1.1.1.1"), ("x-forwarded-for", "203.0.113.9")];
        assert_eq!(from("10.0.0.1", &both, trusted), Some(ip("203.0.113.9")));
    }

    #[test]
    fn malformed_entries_stop_at_the_last_vouched_address() {
        let trusted = "10.0.0.0/8";
        for garbage in ["not-an-ip", "", "unknown", "999.1.1.1", "1.2.3.4.5", "[::1"] {
            let header = format!("{garbage}, 10.0.0.2");
            assert_eq!(from("10.0.0.1", &[("x-forwarded-for", &header)], trusted), Some(ip("10.0.0.2")), "{garbage}");
            assert_eq!(from("10.0.0.1", &[("x-forwarded-for", garbage)], trusted), Some(ip("10.0.0.1")), "{garbage}");
        }
        // A line that is not text at all is not read, even in part.
        let unreadable = [("x-forwarded-for", "203.0.113.9, caf\u{e9}, 10.0.0.2")];
        assert_eq!(from("10.0.0.1", &unreadable, trusted), Some(ip("10.0.0.1")));
        for element in ["for=unknown", "for=_hidden", "by=10.0.0.9", "for", "proto=http;for=\"x\""] {
            assert_eq!(from("10.0.0.1", &[("forwarded", element)], trusted), Some(ip("10.0.0.1")), "{element}");
        }
        // Garbage left of the real client is never reached.
        let chain = [("x-forwarded-for", "!!, 203.0.113.9, 10.0.0.2")];
        assert_eq!(from("10.0.0.1", &chain, trusted), Some(ip("203.0.113.9")));
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        let trusted = "fd00::/8, 10.0.0.0/8";
        let chain = [("x-forwarded-for", "2001:db8::1, fd00::2")];
        assert_eq!(from("fd00::1", &chain, trusted), Some(ip("2001:db8::1")));
        assert_eq!(from("fd00::1", &[("x-forwarded-for", "[2001:db8::1]:443")], trusted), Some(ip("2001:db8::1")));
        // An IPv4 peer seen through an IPv6 socket is still the IPv4 address, and trusted as one.
        assert_eq!(
            from("::ffff:10.0.0.1", &[("x-forwarded-for", "::ffff:203.0.113.9")], trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(from("::ffff:198.51.100.7", &[], trusted), Some(ip("198.51.100.7")));
    }

    #[test]
    fn trusted_proxies_parse() {
        assert_eq!(parse_networks("").unwrap(), vec![]);
        let nets = parse_networks(" 10.1.2.3/8 ,192.168.0.1, ::1, fd00::/8").unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.168.0.1/32", "::1/128", "fd00::/8"]);
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("proxy.internal").is_err());
    }
}
