import EcologyCore
@testable import EcologyConfig
import XCTest

final class ConfigFingerprintTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256Digest.hex(of: []),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256Digest.hex(of: Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Two blocks: the padding spills into a second one.
        XCTAssertEqual(SHA256Digest.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256Digest.hex(of: [UInt8](repeating: 0x61, count: 1_000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testCanonicalYAMLLoadsBackExactly() throws {
        var config = try WorldConfig().withAgents(count: 7).withMind(.llm)
        config.agents[0].prompt = "Quote \"this\",\n\tand a backslash \\ and \u{1}."
        config.llm.temperature = 0.1
        config.limits.invokeTimeoutSeconds = 1e-3
        config.llm.prices["gpt-4.1"] = ModelPrice(inputPerMillionMicrodollars: 2_000_000, outputPerMillionMicrodollars: 8_000_000)
        XCTAssertEqual(try ConfigLoader.load(yaml: config.canonicalYAML), config)
        XCTAssertEqual(try ConfigLoader.load(yaml: WorldConfig().canonicalYAML), WorldConfig())
    }

    func testFingerprintIgnoresHowTheFileIsWritten() throws {
        let a = try ConfigLoader.load(yaml: "mint:\n  slots: 2\n  scorer: llm\n")
        let b = try ConfigLoader.load(yaml: "# reordered, with comments\nmint: {scorer: \"llm\", slots: 2}\n")
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, WorldConfig().fingerprint)
        XCTAssertEqual(try ConfigLoader.load(path: shippedConfigPath).fingerprint, WorldConfig().fingerprint)
    }

    func testFingerprintChangesWithAnyValue() {
        var config = WorldConfig()
        let base = config.fingerprint
        config.resources.compute.initial -= 1
        XCTAssertNotEqual(config.fingerprint, base)
        config = WorldConfig()
        config.agents[4].prompt += " "
        XCTAssertNotEqual(config.fingerprint, base)
    }

    /// Worlds record this value: a change to the canonical form changes every
    /// recorded fingerprint, so it must be deliberate.
    func testDefaultFingerprintIsPinned() {
        XCTAssertEqual(WorldConfig().fingerprint.count, 64)
        XCTAssertEqual(WorldConfig().fingerprint, "f5b5c684da2f161130062d4af6def6919b369d304dfc1c39835df4fc9c371cb4")
    }
}
