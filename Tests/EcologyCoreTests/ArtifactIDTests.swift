import EcologyCore
import XCTest

final class ArtifactIDTests: XCTestCase {
    func testValidIDs() throws {
        for id in ["a", "alpha", "genesis_ledger", "tool-1.v2", "A_b-C.9", String(repeating: "x", count: 128)] {
            XCTAssertEqual(try ArtifactID.validate(id), id)
            XCTAssertTrue(ArtifactID.isValid(id))
        }
    }

    func testInvalidIDsAreInvalidArgs() {
        let bad = ["", String(repeating: "x", count: 129), "has space", "slash/x", "quote'", "semi;colon", "ünïcode", "tab\t",
                   "new\nline", "nul\u{0}", "emoji🙂", "../etc", "a:b", "*"]
        for id in bad {
            XCTAssertFalse(ArtifactID.isValid(id), id)
            do { _ = try ArtifactID.validate(id, field: "to"); XCTFail("accepted \(id)") } catch let e as KernelError {
                XCTAssertEqual(e.code, .invalidArgs)
                XCTAssertTrue(e.message.hasPrefix("to "), e.message)
            } catch { XCTFail("\(error)") }
        }
    }

    func testLengthCountsBytes() {
        // 64 two-byte characters are 128 bytes but also invalid characters; the limit is on bytes.
        XCTAssertFalse(ArtifactID.isValid(String(repeating: "é", count: 64)))
        do { _ = try ArtifactID.validate(String(repeating: "y", count: 129)) } catch let e as KernelError {
            XCTAssertTrue(e.message.contains("129"), e.message)
        } catch { XCTFail("\(error)") }
    }
}
