import EcologyConfig
import EcologyCore
import XCTest

/// `agents[].mind: adversary:KIND`: every kind loads, an unknown kind is an error naming the kinds.
final class AdversaryMindConfigTests: XCTestCase {
    func load(_ yaml: String) throws -> WorldConfig { try ConfigLoader.load(yaml: yaml) }

    func testEveryAdversaryKindIsAValidMind() throws {
        for kind in AdversaryKind.allCases {
            let c = try load("agents:\n  - id: adv\n    mind: \"adversary:\(kind.rawValue)\"\n")
            XCTAssertEqual(c.agents.first?.mind, kind.mind)
            XCTAssertEqual(AdversaryKind(mind: c.agents[0].mind), kind)
        }
        XCTAssertEqual(try load("agents:\n  - id: a\n    mind: llm\n").agents.first?.mind, "llm")
    }

    func testAnUnknownKindNamesTheKinds() {
        XCTAssertThrowsError(try load("agents:\n  - id: adv\n    mind: \"adversary:pirate\"\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("agents[0].mind"), text)
            XCTAssertTrue(text.contains("pirate"), text)
            for kind in AdversaryKind.allCases { XCTAssertTrue(text.contains(kind.rawValue), text) }
        }
    }

    func testAnUnknownMindListsTheChoices() {
        XCTAssertThrowsError(try load("agents:\n  - id: a\n    mind: oracle\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("heuristic") && text.contains("llm") && text.contains("adversary:KIND"), text)
        }
    }

    func testAKindMustFollowThePrefix() {
        XCTAssertNil(AdversaryKind(mind: "adversary:"))
        XCTAssertNil(AdversaryKind(mind: "griefer"))
        XCTAssertThrowsError(try load("agents:\n  - id: a\n    mind: \"adversary:\"\n"))
    }
}
