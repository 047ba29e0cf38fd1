/// The regular expressions of a schema's `pattern`: a documented subset of ECMA-262,
/// compiled to a Thompson automaton and matched by simulating every state at once
/// (a Pike VM without captures), so a match costs at most the subject's length times
/// the program's size — never the exponential time of a backtracking engine, which is
/// what NSRegularExpression and Swift `Regex` are (a pattern such as `^(a+)+$` is a
/// denial of service for them). Patterns come from any agent's interface and subjects
/// from any invoker, so both are hostile.
///
/// The subset (docs/KERNEL.md, "Tool interfaces"): literals; escapes `\\ \^ \$ \. \| \?
/// \* \+ \( \) \[ \] \{ \} \/ \-`, `\n \r \t \f \v`, `\uXXXX`, `\d \D \w \W \s \S`;
/// classes `[...]`, `[^...]` with ranges and those escapes; `.` (any character but a
/// line terminator); `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (n, m ≤ `maxRepetition`);
/// `|`; groups `( )` and `(?: )`; anchors `^` and `$`. The search is unanchored, as in
/// JSON Schema. Characters are Unicode scalars (JSON's code points). Everything else
/// (lazy quantifiers, back-references, lookaround, `\b`, flags) is refused at compile.
/// `sandbox/agent/schema.py` parses the same subset with the same limits.
public struct SchemaRegex: Sendable {
    /// Longest pattern accepted, in Unicode scalars.
    public static let maxPatternLength = 1_000
    /// Largest n or m in `{n}`, `{n,}`, `{n,m}`.
    public static let maxRepetition = 1_000
    /// Largest size of a pattern once counted repetition is expanded (`size(of:)`).
    public static let maxSize = 2_000

    /// A set of scalars as sorted, disjoint, closed ranges, possibly negated.
    struct CharClass: Sendable, Equatable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool

        func contains(_ c: UInt32) -> Bool {
            var lo = 0, hi = ranges.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ranges[mid].upperBound < c { lo = mid + 1 } else { hi = mid }
            }
            let inside = lo < ranges.count && ranges[lo].contains(c)
            return inside != negated
        }
    }

    indirect enum Node: Equatable {
        case empty
        case chars(CharClass)
        case lineStart, lineEnd
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    enum Instruction: Sendable {
        case chars(CharClass)
        case split(Int, Int)
        case jump(Int)
        case assertStart, assertEnd
        case match
    }

    /// Why a pattern is refused: a sentence naming the offending part.
    public struct Refusal: Error, Equatable { public var reason: String }

    let program: [Instruction]
    public let pattern: String

    public init(_ pattern: String) throws {
        self.pattern = pattern
        let scalars = Array(pattern.unicodeScalars.map(\.value))
        if scalars.count > Self.maxPatternLength {
            throw Refusal(reason: "is \(scalars.count) characters long; the maximum is \(Self.maxPatternLength)")
        }
        var parser = Parser(scalars: scalars)
        let tree = try parser.parseAll()
        let size = Self.size(of: tree)
        if size > Self.maxSize {
            throw Refusal(reason: "has size \(size) once its repetitions are expanded; the maximum is \(Self.maxSize)")
        }
        var program: [Instruction] = []
        Self.emit(tree, into: &program)
        program.append(.match)
        self.program = program
    }

    /// The documented size of a pattern (the Python side computes the same): 1 per
    /// character, class, `.` or anchor; a sequence or alternation the sum of its parts
    /// plus one per `|`; `x*`, `x+`, `x?` size(x) + 1; `x{n}` size(x)·n, `x{n,}`
    /// size(x)·(n + 1), `x{n,m}` size(x)·m, and at least 1.
    static func size(of node: Node) -> Int {
        switch node {
        case .empty: return 0
        case .chars, .lineStart, .lineEnd: return 1
        case .sequence(let parts): return parts.reduce(0) { $0.saturatingAdd(size(of: $1)) }
        case .alternation(let parts): return parts.reduce(parts.count - 1) { $0.saturatingAdd(size(of: $1)) }
        case .repeated(let inner, let min, let max):
            let s = size(of: inner)
            let times: Int
            switch (min, max) {
            case (0, 1?), (0, nil), (1, nil): return s.saturatingAdd(1)
            case (_, nil): times = min + 1
            case (_, let m?): times = m
            }
            return Swift.max(1, s.multipliedReportingOverflow(by: times).overflow ? .max : s * times)
        }
    }

    private static func emit(_ node: Node, into p: inout [Instruction]) {
        switch node {
        case .empty: break
        case .chars(let c): p.append(.chars(c))
        case .lineStart: p.append(.assertStart)
        case .lineEnd: p.append(.assertEnd)
        case .sequence(let parts): for part in parts { emit(part, into: &p) }
        case .alternation(let parts):
            // split L1, next; L1: a; jump end; next: split L2, … ; last branch falls through.
            var jumps: [Int] = []
            for (i, part) in parts.enumerated() {
                if i < parts.count - 1 {
                    let split = p.count
                    p.append(.split(split + 1, -1))
                    emit(part, into: &p)
                    jumps.append(p.count)
                    p.append(.jump(-1))
                    p[split] = .split(split + 1, p.count)
                } else {
                    emit(part, into: &p)
                }
            }
            for j in jumps { p[j] = .jump(p.count) }
        case .repeated(let inner, let min, let max):
            for _ in 0..<min { emit(inner, into: &p) }
            if let max {
                // Each optional copy: split into it or past all of them.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(p.count)
                    p.append(.split(p.count + 1, -1))
                    emit(inner, into: &p)
                }
                for s in splits { p[s] = .split(s + 1, p.count) }
            } else {
                // loop: split body, end; body; jump loop.
                let loop = p.count
                p.append(.split(loop + 1, -1))
                emit(inner, into: &p)
                p.append(.jump(loop))
                p[loop] = .split(loop + 1, p.count)
            }
        }
    }

    /// Whether the pattern occurs anywhere in `subject`. Every step of the simulation
    /// (one program state at one position) is counted against `budget`, which throws
    /// once it is spent, so a long subject costs what the caller allowed and no more.
    func matches(_ subject: String, budget: inout SchemaBudget) throws -> Bool {
        let count = program.count
        var current = StateSet(capacity: count), next = StateSet(capacity: count)
        var stack: [Int] = []
        let scalars = subject.unicodeScalars
        var index = scalars.startIndex
        var atStart = true
        while true {
            let atEnd = index == scalars.endIndex
            // A new thread starts at every position: the search is unanchored.
            if try addClosure(0, to: &current, stack: &stack, atStart: atStart, atEnd: atEnd, budget: &budget) { return true }
            if atEnd { return false }
            let c = scalars[index].value
            next.clear()
            for pc in current.members {
                try budget.spend(1)
                if case .chars(let cls) = program[pc], cls.contains(c) {
                    let nextAtEnd = scalars.index(after: index) == scalars.endIndex
                    if try addClosure(pc + 1, to: &next, stack: &stack, atStart: false, atEnd: nextAtEnd, budget: &budget) {
                        return true
                    }
                }
            }
            swap(&current, &next)
            index = scalars.index(after: index)
            atStart = false
        }
    }

    /// Adds `start` and every state reachable from it without reading a character;
    /// true if that reaches `match`. Iterative (no recursion on hostile programs).
    private func addClosure(_ start: Int, to set: inout StateSet, stack: inout [Int], atStart: Bool, atEnd: Bool,
                            budget: inout SchemaBudget) throws -> Bool {
        stack.append(start)
        while let pc = stack.popLast() {
            if !set.insert(pc) { continue }
            try budget.spend(1)
            switch program[pc] {
            case .match: stack.removeAll(keepingCapacity: true); return true
            case .jump(let to): stack.append(to)
            case .split(let a, let b): stack.append(b); stack.append(a)
            case .assertStart: if atStart { stack.append(pc + 1) }
            case .assertEnd: if atEnd { stack.append(pc + 1) }
            case .chars: break
            }
        }
        return false
    }
}

/// A sparse set of program counters: insert, clear and iteration in insertion order,
/// all without scanning the whole program.
struct StateSet {
    private var dense: [Int]
    private var sparse: [Int]
    private(set) var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    mutating func insert(_ x: Int) -> Bool {
        let i = sparse[x]
        if i < count && dense[i] == x { return false }
        sparse[x] = count
        dense[count] = x
        count += 1
        return true
    }

    mutating func clear() { count = 0 }

    var members: ArraySlice<Int> { dense[0..<count] }
}

extension Int {
    fileprivate func saturatingAdd(_ other: Int) -> Int {
        let (v, overflow) = addingReportingOverflow(other)
        return overflow ? .max : v
    }
}

extension SchemaRegex {
    /// Recursive descent over the pattern's scalars. Nesting is bounded by the pattern
    /// length (≤ `maxPatternLength`), and groups nest at most `maxGroupDepth` deep.
    struct Parser {
        static let maxGroupDepth = 64
        let scalars: [UInt32]
        var pos = 0
        var depth = 0

        init(scalars: [UInt32]) { self.scalars = scalars }

        mutating func parseAll() throws -> Node {
            let node = try parseAlternation()
            if pos < scalars.count {
                throw Refusal(reason: "has an unmatched ')' at character \(pos)")
            }
            return node
        }

        private var peek: UInt32? { pos < scalars.count ? scalars[pos] : nil }

        private func char(_ c: UInt32) -> String {
            Unicode.Scalar(c).map { "'\(Character($0))'" } ?? "U+\(String(c, radix: 16))"
        }

        private mutating func parseAlternation() throws -> Node {
            var branches = [try parseSequence()]
            while peek == 0x7C {  // |
                pos += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseSequence() throws -> Node {
            var parts: [Node] = []
            while let c = peek, c != 0x7C, c != 0x29 {  // | )
                let atomStart = pos
                var atom = try parseAtom()
                atom = try parseQuantifiers(atom, atomStart: atomStart)
                parts.append(atom)
            }
            return parts.count == 1 ? parts[0] : (parts.isEmpty ? .empty : .sequence(parts))
        }

        private mutating func parseQuantifiers(_ atom: Node, atomStart: Int) throws -> Node {
            guard let c = peek else { return atom }
            var result: Node
            switch c {
            case 0x2A: pos += 1; result = .repeated(atom, min: 0, max: nil)  // *
            case 0x2B: pos += 1; result = .repeated(atom, min: 1, max: nil)  // +
            case 0x3F: pos += 1; result = .repeated(atom, min: 0, max: 1)  // ?
            case 0x7B: result = try parseBraces(atom)  // {
            default: return atom
            }
            if case .lineStart = atom { throw Refusal(reason: "repeats an anchor at character \(atomStart)") }
            if case .lineEnd = atom { throw Refusal(reason: "repeats an anchor at character \(atomStart)") }
            if let next = peek, [0x2A, 0x2B, 0x3F, 0x7B].contains(next) {
                throw Refusal(reason: "has a quantifier after a quantifier at character \(pos) (lazy and possessive quantifiers are not supported)")
            }
            return result
        }

        private mutating func parseBraces(_ atom: Node) throws -> Node {
            let start = pos
            pos += 1
            guard let min = try parseNumber() else {
                throw Refusal(reason: "has '{' at character \(start) that is not a repetition {n}, {n,} or {n,m} (write \\{ for the character)")
            }
            var max: Int? = min
            if peek == 0x2C {  // ,
                pos += 1
                max = try parseNumber()
            }
            guard peek == 0x7D else {  // }
                throw Refusal(reason: "has an unterminated repetition at character \(start)")
            }
            pos += 1
            if let max, max < min { throw Refusal(reason: "has a repetition {\(min),\(max)} whose maximum is below its minimum") }
            return .repeated(atom, min: min, max: max)
        }

        private mutating func parseNumber() throws -> Int? {
            var value = 0, digits = 0
            while let c = peek, c >= 0x30, c <= 0x39 {
                // Cannot overflow: value ≤ maxRepetition (checked below) before each step, and c is a digit.
                value = value * 10 + Int(c - 0x30)
                digits += 1
                pos += 1
                if value > SchemaRegex.maxRepetition {
                    throw Refusal(reason: "repeats more than \(SchemaRegex.maxRepetition) times")
                }
            }
            return digits == 0 ? nil : value
        }

        private mutating func parseAtom() throws -> Node {
            let start = pos
            let c = scalars[pos]
            pos += 1
            switch c {
            case 0x5E: return .lineStart  // ^
            case 0x24: return .lineEnd  // $
            case 0x2E: return .chars(SchemaRegex.dot)  // .
            case 0x28:  // (
                if peek == 0x3F {  // ?
                    guard pos + 1 < scalars.count, scalars[pos + 1] == 0x3A else {  // :
                        throw Refusal(reason: "has '(?' at character \(start) that is not '(?:' (lookaround, named groups and flags are not supported)")
                    }
                    pos += 2
                }
                depth += 1
                if depth > Self.maxGroupDepth { throw Refusal(reason: "nests groups more than \(Self.maxGroupDepth) deep") }
                let inner = try parseAlternation()
                depth -= 1
                guard peek == 0x29 else { throw Refusal(reason: "has an unclosed '(' at character \(start)") }
                pos += 1
                return inner
            case 0x5B: return .chars(try parseClass(start: start))  // [
            case 0x5C: return .chars(try parseEscape(inClass: false))  // backslash
            case 0x2A, 0x2B, 0x3F, 0x7B:  // * + ? {
                throw Refusal(reason: "has a quantifier with nothing to repeat at character \(start)")
            case 0x5D, 0x7D:  // ] }
                throw Refusal(reason: "has an unescaped \(char(c)) at character \(start)")
            default: return .chars(CharClass(ranges: [c...c], negated: false))
            }
        }

        private mutating func parseClass(start: Int) throws -> CharClass {
            var negated = false
            if peek == 0x5E { negated = true; pos += 1 }  // ^
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while true {
                guard let c = peek else { throw Refusal(reason: "has an unclosed '[' at character \(start)") }
                if c == 0x5D && !first { pos += 1; break }  // ]
                if c == 0x5D { throw Refusal(reason: "has an empty class '[]' at character \(start)") }
                first = false
                let low = try parseClassMember()
                // A range a-z: both ends single characters; '-' first, last or after a range is literal.
                if peek == 0x2D, pos + 1 < scalars.count, scalars[pos + 1] != 0x5D {
                    pos += 1
                    let high = try parseClassMember()
                    guard let l = low.single, let h = high.single else {
                        throw Refusal(reason: "has a range with a class as an end at character \(pos)")
                    }
                    if h < l { throw Refusal(reason: "has a range \(char(l))-\(char(h)) that runs backwards") }
                    ranges.append(l...h)
                } else {
                    ranges.append(contentsOf: low.resolved)
                }
            }
            return CharClass(ranges: SchemaRegex.normalized(ranges), negated: negated)
        }

        /// One member of a class: a character or an escape (which may stand for a class).
        private mutating func parseClassMember() throws -> CharClass {
            let c = scalars[pos]
            pos += 1
            if c == 0x5C { return try parseEscape(inClass: true) }
            if c == 0x5B { throw Refusal(reason: "has '[' inside a class at character \(pos - 1) (write \\[)") }
            return CharClass(ranges: [c...c], negated: false)
        }

        private mutating func parseEscape(inClass: Bool) throws -> CharClass {
            guard let c = peek else { throw Refusal(reason: "ends with a lone backslash") }
            pos += 1
            func one(_ x: UInt32) -> CharClass { CharClass(ranges: [x...x], negated: false) }
            switch c {
            case 0x5C, 0x5E, 0x24, 0x2E, 0x7C, 0x3F, 0x2A, 0x2B, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D, 0x2F, 0x2D:
                return one(c)
            case 0x6E: return one(0x0A)  // n
            case 0x72: return one(0x0D)  // r
            case 0x74: return one(0x09)  // t
            case 0x66: return one(0x0C)  // f
            case 0x76: return one(0x0B)  // v
            case 0x64: return SchemaRegex.digit  // d
            case 0x44: return SchemaRegex.digit.inverted  // D
            case 0x77: return SchemaRegex.word  // w
            case 0x57: return SchemaRegex.word.inverted  // W
            case 0x73: return SchemaRegex.space  // s
            case 0x53: return SchemaRegex.space.inverted  // S
            case 0x75:  // u
                guard pos + 4 <= scalars.count, scalars[pos..<pos + 4].allSatisfy(Self.isHexDigit) else {
                    throw Refusal(reason: "has '\\u' at character \(pos - 2) without four hex digits")
                }
                let v = scalars[pos..<pos + 4].reduce(UInt32(0)) { $0 * 16 + Self.hexValue($1) }
                guard Unicode.Scalar(v) != nil else {
                    throw Refusal(reason: "has '\\u\(String(v, radix: 16))', a surrogate, at character \(pos - 2)")
                }
                pos += 4
                return one(v)
            default:
                throw Refusal(reason: "has an unsupported escape '\\\(Unicode.Scalar(c).map { String(Character($0)) } ?? "?")' at character \(pos - 2)")
            }
        }

        private static func isHexDigit(_ c: UInt32) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        }

        private static func hexValue(_ c: UInt32) -> UInt32 {
            c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
        }
    }

    /// ECMA-262's `\d`, `\w` and `\s` (ASCII digits and word characters; white space and
    /// line terminators as ECMA-262 lists them), and `.` (anything but a line terminator).
    static let digit = CharClass(ranges: [0x30...0x39], negated: false)
    static let word = CharClass(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], negated: false)
    static let space = CharClass(ranges: normalized([0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680,
                                                     0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F,
                                                     0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF]), negated: false)
    static let dot = CharClass(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029], negated: true)

    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...Swift.max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }
}

extension SchemaRegex.CharClass {
    /// One character, if this class is exactly one (a range end must be).
    var single: UInt32? {
        if !negated, ranges.count == 1, ranges[0].lowerBound == ranges[0].upperBound { return ranges[0].lowerBound }
        return nil
    }

    /// The same set without negation, as plain ranges (for use inside another class).
    var resolved: [ClosedRange<UInt32>] {
        if !negated { return ranges }
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound &+ 1
            if r.upperBound == 0x10FFFF { return out }
        }
        out.append(next...0x10FFFF)
        return out
    }

    var inverted: Self { Self(ranges: ranges, negated: !negated) }
}
