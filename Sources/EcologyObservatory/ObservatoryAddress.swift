import Foundation

/// Where the observatory listens: `ADDR:PORT` from `--http`, or off.
///
/// `ADDR` is an IPv4 address, `[IPv6]`, or `localhost`; `PORT` is 0–65535 (0 asks the
/// system for a free port, which tests use). Host names other than `localhost` are
/// refused: a name would be resolved by whoever serves DNS, and the Host check against
/// DNS rebinding (`RequestGuard`) needs to know exactly which names mean this server.
public struct ObservatoryAddress: Sendable, Equatable, CustomStringConvertible {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8787
    public static let `default` = ObservatoryAddress(host: defaultHost, port: defaultPort)

    /// The literal address to bind (`127.0.0.1`, `::1`, `0.0.0.0`, …); `localhost` binds `127.0.0.1`.
    public let host: String
    public let port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    /// Parses `--http`: nil for `off`; throws a message naming the flag otherwise.
    public static func parse(_ text: String) throws -> ObservatoryAddress? {
        if text == "off" { return nil }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ObservatoryAddressError("--http \(text): an IPv6 address is written [ADDR]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ObservatoryAddressError("--http \(text): expected ADDR:PORT (e.g. 127.0.0.1:8787) or off")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCII), let port = Int(portText), (0...65535).contains(port) else {
            throw ObservatoryAddressError("--http \(text): the port must be a number from 0 to 65535")
        }
        if host == "localhost" { return ObservatoryAddress(host: defaultHost, port: port) }
        guard isLiteralAddress(String(host)) else {
            throw ObservatoryAddressError("--http \(text): the address must be an IP address or localhost, not a host name")
        }
        return ObservatoryAddress(host: String(host), port: port)
    }

    /// Loopback: 127.0.0.0/8 or ::1. Anything else (including 0.0.0.0 and ::, which
    /// listen on every interface) is reachable from other machines.
    public var isLoopback: Bool { Self.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return (UInt32(bigEndian: v4.s_addr) >> 24) == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { b in b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1 }
        }
        return false
    }

    static func isLiteralAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// `host:port` as it appears in a URL (IPv6 in brackets).
    public func authority(port actualPort: Int? = nil) -> String {
        let p = actualPort ?? port
        return host.contains(":") ? "[\(host)]:\(p)" : "\(host):\(p)"
    }

    public var description: String { authority() }
}

public struct ObservatoryAddressError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
