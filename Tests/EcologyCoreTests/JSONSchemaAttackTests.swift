import EcologyCore
import XCTest

/// Hostile schemas and hostile arguments (docs/THREAT_MODEL.md, class 1, C1.15–C1.19):
/// every attack is answered with INVALID_ARGS and bounded work, counted in validation
/// steps (`CompiledSchema.stepsToValidate`), never timed.
final class JSONSchemaAttackTests: XCTestCase {
    func refusal(_ schema: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> KernelError? {
        do {
            _ = try JSONSchema.compile(schema)
            XCTFail("the schema was accepted", file: file, line: line)
            return nil
        } catch let e as KernelError {
            XCTAssertEqual(e.code, .invalidArgs, file: file, line: line)
            return e
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }

    func string(_ count: Int, _ c: Character = "a") -> String { String(repeating: c, count: count) }

    /// `^(a+)+$` against "aaa…ab" takes 2^n steps in a backtracking engine
    /// (NSRegularExpression, Swift Regex); the automaton's steps grow linearly.
    func testCatastrophicPatternsMatchInLinearSteps() throws {
        for pattern in ["^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "^(.*a){12}$", "(x+x+)+y"] {
            let compiled = try JSONSchema.compile(["pattern": .string(pattern)])
            let short = try compiled.stepsToValidate(.string(string(1_000) + "b"))
            let long = try compiled.stepsToValidate(.string(string(2_000) + "b"))
            XCTAssertFalse(short.valid && pattern.hasPrefix("^"), pattern)
            // Twice the input, about twice the steps: linear, not exponential.
            XCTAssertLessThanOrEqual(long.steps * 100, short.steps * 205, "\(pattern): \(short.steps) then \(long.steps)")
            XCTAssertLessThan(short.steps, 1_001 * 200, "\(pattern): \(short.steps) steps for 1,001 characters")
        }
    }

    func testALongSubjectIsStoppedByTheStepBudget() throws {
        // A pattern at the size limit against 100,000 characters: refused once the budget is spent.
        let compiled = try JSONSchema.compile(["pattern": "(a?){999}b"])
        do {
            _ = try compiled.stepsToValidate(.string(string(100_000)), steps: 1_000_000)
            XCTFail("no budget")
        } catch let e as KernelError {
            XCTAssertEqual(e.code, .invalidArgs)
            XCTAssertEqual(e.details?["limit"], "validation_steps")
        }
        // The same through `validate`, with the default budget and a 1 MB subject.
        XCTAssertThrowsError(try compiled.validate(.string(string(1_000_000)))) { error in
            XCTAssertEqual((error as? KernelError)?.details?["limit"], "validation_steps")
        }
    }

    func testPatternsBeyondTheSubsetOrItsLimitsAreRefusedWhenCompiled() {
        let hostile = ["(a)\\1", "(?=a)", "(?<!a)b", "a{1001}", "((a{30}){30}){30}", string(1_001),
                       string(65, "(") + "a" + string(65, ")"), "[\\p{L}]", "a**"]
        for p in hostile {
            let e = refusal(["pattern": .string(p)])
            XCTAssertEqual(e?.details?["keyword"], "pattern", p)
        }
        // Group nesting up to the limit is fine.
        XCTAssertNoThrow(try JSONSchema.compile(["pattern": .string(string(64, "(") + "a" + string(64, ")"))]))
    }

    func testReferenceLoopsWithoutDescentAreRefused() {
        let loops: [JSONValue] = [
            ["$ref": "#"],
            ["allOf": [["$ref": "#"]]],
            ["$defs": ["a": ["$ref": "#/$defs/b"], "b": ["oneOf": [["type": "null"], ["$ref": "#/$defs/a"]]]], "$ref": "#/$defs/a"],
            ["$defs": ["a": ["anyOf": [["$ref": "#/$defs/a"]]]], "properties": ["x": ["$ref": "#/$defs/a"]]],
        ]
        for s in loops {
            XCTAssertEqual(refusal(s)?.details?["keyword"], "$ref", JSONCodec.string(s))
        }
    }

    /// `{"items": {"$ref": "#"}}` descends each turn: accepted, and a deep instance stops at
    /// the evaluation depth instead of exhausting the stack.
    func testRecursiveSchemaOnADeepInstanceIsBounded() throws {
        let compiled = try JSONSchema.compile(["items": ["$ref": "#"]])
        var shallow: JSONValue = []
        for _ in 0..<100 { shallow = [shallow] }
        XCTAssertTrue(try compiled.stepsToValidate(shallow).valid)
        var deep: JSONValue = []
        for _ in 0..<5_000 { deep = [deep] }
        XCTAssertThrowsError(try compiled.validate(deep)) { error in
            XCTAssertEqual((error as? KernelError)?.code, .invalidArgs)
            XCTAssertEqual((error as? KernelError)?.details?["limit"], "evaluation_depth")
        }
    }

    /// Each of 40 definitions applies the next twice (`allOf`, `oneOf`, `anyOf`): 2^40
    /// applications from a schema of 120 subschemas. The budget ends it.
    func testExponentialFanOutThroughReferencesIsStoppedByTheBudget() throws {
        for keyword in ["allOf", "oneOf", "anyOf"] {
            var defs: [String: JSONValue] = ["d40": ["type": "integer"]]
            for i in 0..<40 {
                let next: JSONValue = ["$ref": .string("#/$defs/d\(i + 1)")]
                // anyOf stops at its first match, so make the first branch fail.
                let first: JSONValue = keyword == "anyOf" ? ["allOf": [next, ["type": "string"]]] : next
                defs["d\(i)"] = [keyword: .array([first, next])]
            }
            let compiled = try JSONSchema.compile(["$defs": .object(defs), "$ref": "#/$defs/d0"])
            do {
                _ = try compiled.stepsToValidate(1, steps: 500_000)
                XCTFail("\(keyword): finished within the budget")
            } catch let e as KernelError {
                XCTAssertEqual(e.details?["limit"], "validation_steps", keyword)
            }
        }
    }

    func testHugeEnumsAndSchemasAreRefusedAndEnumComparisonIsCounted() throws {
        XCTAssertEqual(refusal(["enum": .array((0..<5_000).map { .int(Int64($0)) })])?.details?["keyword"], "enum")
        var props: [String: JSONValue] = [:]
        for i in 0..<2_000 { props["p\(i)"] = ["type": "string"] }
        XCTAssertEqual(refusal(["properties": .object(props)])?.details?["keyword"], "properties")
        var nested: JSONValue = true
        for _ in 0..<200 { nested = ["items": nested] }
        XCTAssertEqual(refusal(nested)?.details?["keyword"], "items")
        // 1,000 values, each a 10 kB string, against a 10 kB string that differs at its end.
        let value = string(10_000)
        let compiled = try JSONSchema.compile(["enum": .array((0..<1_000).map { .string(value + "\($0)") })])
        let (valid, steps) = try compiled.stepsToValidate(.string(value + "x"))
        XCTAssertFalse(valid)
        XCTAssertGreaterThan(steps, 1_000 * 10_000 / 64, "string comparison is counted by length")
        XCTAssertThrowsError(try compiled.stepsToValidate(.string(value + "x"), steps: 10_000))
    }

    func testRegexMatchesItsDocumentedSemantics() throws {
        func matches(_ pattern: String, _ subject: String) throws -> Bool {
            try JSONSchema.compile(["pattern": .string(pattern)]).stepsToValidate(.string(subject)).valid
        }
        XCTAssertTrue(try matches("^$", ""))
        XCTAssertFalse(try matches("^a$", "a\n"), "$ is the end of the text")
        XCTAssertTrue(try matches("a|", "zzz"), "an empty alternative matches anywhere")
        XCTAssertTrue(try matches("^\\u00e9+$", "ééé"))
        XCTAssertFalse(try matches("^.$", "e\u{301}"), "characters are Unicode scalars, not grapheme clusters")
        XCTAssertTrue(try matches("^..$", "e\u{301}"))
        XCTAssertTrue(try matches("^[^\\d\\s]{2}$", "é😀"))
        XCTAssertTrue(try matches("^(a*)*$", string(50)), "an empty loop terminates")
        XCTAssertTrue(try matches("^a{0}$", ""))
    }
}
