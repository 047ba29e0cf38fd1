import EcologyCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A fake OpenAI-compatible server for the LLM and supervisor tests: the Python fixture
/// (`Fixtures/fake_openai_server.py`), started once per test
/// process on 127.0.0.1 with a free port. It exits when our end of its stdin closes.
public final class FakeOpenAIServer: @unchecked Sendable {
    public static let shared: Result<FakeOpenAIServer, Error> = Result { try FakeOpenAIServer() }

    public let port: Int
    private let process: Process
    private let stdin: Pipe

    private init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fake_openai_server.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw NSError(domain: "FakeOpenAIServer", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "the fixture server did not print its port"])
        }
        self.port = port
    }

    public static func get() throws -> FakeOpenAIServer { try shared.get() }

    /// A base URL whose path carries the server's behaviour options, e.g. `["nousage=1"]`.
    public func baseURL(_ options: [String] = []) -> String {
        (["http://127.0.0.1:\(port)"] + options + ["v1"]).joined(separator: "/")
    }

    /// Every request the server has received whose path contains `tag`.
    public func requests(tagged tag: String) throws -> [(path: String, headers: [String: String], body: JSONValue)] {
        let url = URL(string: "http://127.0.0.1:\(port)/requests")!
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var received: Data?
        URLSession.shared.dataTask(with: url) { data, _, _ in received = data; done.signal() }.resume()
        _ = done.wait(timeout: .now() + 10)
        guard let data = received, let list = try JSONCodec.decode(data).arrayValue else {
            throw NSError(domain: "FakeOpenAIServer", code: 2,
                          userInfo: [NSLocalizedDescriptionKey: "cannot read the request log"])
        }
        return try list.compactMap { entry in
            guard let path = entry["path"]?.stringValue, path.contains(tag) else { return nil }
            var headers: [String: String] = [:]
            for (k, v) in entry["headers"]?.objectValue ?? [:] { headers[k] = v.stringValue }
            return (path, headers, try JSONCodec.decode(entry["body"]?.stringValue ?? ""))
        }
    }
}

/// A fresh tag per test so each finds only its own requests in the server's log.
public func uniqueTag(_ name: String = #function) -> String {
    "tag=" + name.filter { $0.isLetter || $0.isNumber } + String(UInt32.random(in: 0...UInt32.max), radix: 16)
}
