import EcologyCore
import Foundation

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// the browser reads commands on fd 3 and writes answers on fd 4, each a JSON message ended
/// by a NUL byte), so the test needs no websocket client and no extra package.
final class HeadlessBrowser {
    /// The Chromium executable on PATH, nil when none is installed.
    static func executable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    let pid: pid_t
    private let commands: Int32   // our end of the browser's fd 3
    private let answers: Int32    // our end of the browser's fd 4
    private var pending = [UInt8]()
    private var nextID: Int64 = 1
    private var session: String?
    let profile: URL

    init(executable: String, width: Int = 1400, height: Int = 1000) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-chromium-\(UUID().uuidString)")
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw ObservatoryTestError("pipe: \(errno)") }
        commands = toBrowser[1]; answers = fromBrowser[0]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Moved above 10 first, so that dup2 onto 3 and 4 cannot overwrite one another.
        let readEnd = fcntl(toBrowser[0], F_DUPFD, 10), writeEnd = fcntl(fromBrowser[1], F_DUPFD, 10)
        close(toBrowser[0]); close(fromBrowser[1])
        posix_spawn_file_actions_adddup2(&actions, readEnd, 3)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let args = [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--remote-debugging-pipe", "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)",
                    "--hide-scrollbars", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        close(readEnd); close(writeEnd)
        guard rc == 0 else { throw ObservatoryTestError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
        let targets = try send("Target.getTargets")
        guard let page = targets["targetInfos"]?.arrayValue?.first(where: { $0["type"] == "page" })?["targetId"] else {
            throw ObservatoryTestError("no page target: \(targets)")
        }
        session = try send("Target.attachToTarget", ["targetId": page, "flatten": true], browserLevel: true)["sessionId"]?.stringValue
        _ = try send("Page.enable")
        _ = try send("Runtime.enable")
    }

    deinit {
        _ = try? send("Browser.close", browserLevel: true)
        var status: Int32 = 0
        for _ in 0..<50 { if waitpid(pid, &status, WNOHANG) == pid { break }; usleep(100_000) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        close(commands); close(answers)
        try? FileManager.default.removeItem(at: profile)
    }

    /// One DevTools command; returns its `result` (events that arrive meanwhile are dropped).
    @discardableResult
    func send(_ method: String, _ params: [String: JSONValue] = [:], browserLevel: Bool = false) throws -> JSONValue {
        let id = nextID; nextID += 1
        var message: [String: JSONValue] = ["id": .int(id), "method": .string(method), "params": .object(params)]
        if !browserLevel, let session { message["sessionId"] = .string(session) }
        var bytes = Array(JSONCodec.encode(.object(message))); bytes.append(0)
        guard bytes.withUnsafeBytes({ write(commands, $0.baseAddress, bytes.count) }) == bytes.count else {
            throw ObservatoryTestError("the browser closed its pipe")
        }
        while true {
            let answer = try readMessage()
            guard answer["id"]?.intValue == id else { continue }
            if let error = answer["error"] { throw ObservatoryTestError("\(method): \(error)") }
            return answer["result"] ?? .null
        }
    }

    private func readMessage() throws -> JSONValue {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let end = pending.firstIndex(of: 0) {
                let text = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(...end)
                return try JSONCodec.decode(text)
            }
            var p = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 30_000) == 1 else { throw ObservatoryTestError("the browser did not answer within 30 s") }
            let n = read(answers, &buffer, buffer.count)
            guard n > 0 else { throw ObservatoryTestError("the browser exited") }
            pending.append(contentsOf: buffer[0..<n])
        }
    }

    func navigate(_ url: String) throws { try send("Page.navigate", ["url": .string(url)]) }

    /// Evaluates `expression` in the page (promises awaited) and returns its value as JSON.
    func evaluate(_ expression: String) throws -> JSONValue {
        let r = try send("Runtime.evaluate", ["expression": .string(expression), "returnByValue": true, "awaitPromise": true])
        if let exception = r["exceptionDetails"] { throw ObservatoryTestError("page script failed: \(exception)") }
        return r["result"]?["value"] ?? .null
    }

    /// Polls `expression` until it is true, at most `attempts` times 250 ms apart.
    func waitUntil(_ expression: String, attempts: Int = 120) throws -> Bool {
        for _ in 0..<attempts {
            if try evaluate(expression) == .bool(true) { return true }
            usleep(250_000)
        }
        return false
    }

    /// A PNG of the whole page (beyond the window, down to its last element).
    func screenshot(to path: String) throws {
        let size = try send("Page.getLayoutMetrics")["cssContentSize"]
        let clip: JSONValue = ["x": 0, "y": 0, "width": size?["width"] ?? 1400, "height": size?["height"] ?? 1000, "scale": 1]
        let r = try send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true, "clip": clip])
        guard let encoded = r["data"]?.stringValue, let data = Data(base64Encoded: encoded) else { throw ObservatoryTestError("no screenshot data") }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
