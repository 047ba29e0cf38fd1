import Foundation

/// Who may ask what of the observatory. Pure: given a request's method, Host, Origin,
/// credentials and the server's address, the decision (tested without a socket).
///
/// - **Host** (against DNS rebinding): a page on `evil.example` whose name is re-pointed
///   at 127.0.0.1 reaches this server with `Host: evil.example`. Only these Host values
///   are accepted: `localhost`, `127.0.0.1`, `[::1]` and the bound address, each with the
///   bound port; on a wildcard bind (`0.0.0.0`, `::`) any IP literal too (a rebinding
///   attack needs a DNS name). Anything else is 403.
/// - **Origin** (against cross-site requests): a POST whose `Origin` is present and is
///   not `http://` + the accepted Host is 403. (A request without `Origin`, from curl, is
///   judged by its token alone.)
/// - **Token**: control endpoints (POST) always need `Authorization: Bearer TOKEN`; the
///   header cannot be set by a cross-site form, which a cookie would be sent with. Reads
///   need no token on a loopback bind; on any other bind every request needs the token
///   (header, or the `ecology_token` cookie that `GET /?token=…` sets), since the world's
///   ledger would otherwise be readable by the whole network.
public struct RequestGuard: Sendable {
    public let address: ObservatoryAddress
    public let port: Int
    public let token: ControlToken?
    public static let cookieName = "ecology_token"

    public init(address: ObservatoryAddress, port: Int, token: ControlToken?) {
        self.address = address; self.port = port; self.token = token
    }

    public enum Access: Sendable { case read, control }

    /// nil when allowed, else the refusal.
    public func check(access: Access, host: String?, origin: String?, authorization: String?, cookie: String?) -> APIError? {
        guard let host, acceptsHost(host) else {
            return .forbidden("Host \(String((host ?? "(none)").prefix(80))) is not this server's address (DNS rebinding guard); use http://\(address.authority(port: port))/")
        }
        if access == .control, let origin, origin != "http://\(host)" {
            return .forbidden("cross-origin request from \(String(origin.prefix(80))) refused")
        }
        let bearer = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        switch access {
        case .control:
            guard let token else { return .forbidden("this server is read-only (no control token)") }
            guard let bearer, token.matches(bearer) else {
                return .unauthorized("control actions need Authorization: Bearer TOKEN (the token is in DATA_DIR/\(ControlToken.fileName))")
            }
        case .read:
            guard !address.isLoopback else { return nil }
            guard let token else { return .forbidden("a non-loopback server needs a token") }
            let presented = bearer ?? cookie.flatMap(Self.cookieToken)
            guard let presented, token.matches(presented) else {
                return .unauthorized("this server listens beyond loopback: open /?token=TOKEN once (the token is in DATA_DIR/\(ControlToken.fileName))")
            }
        }
        return nil
    }

    func acceptsHost(_ host: String) -> Bool {
        let suffix = ":\(port)"
        guard host.hasSuffix(suffix) else { return false }
        let name = String(host.dropLast(suffix.count))
        if ["localhost", "127.0.0.1", "[::1]"].contains(name) { return true }
        let bare = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
        if bare == address.host { return true }
        if address.host == "0.0.0.0" || address.host == "::" { return ObservatoryAddress.isLiteralAddress(bare) }
        return false
    }

    static func cookieToken(_ header: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(cookieName + "=") { return String(pair.dropFirst(cookieName.count + 1)) }
        }
        return nil
    }
}
