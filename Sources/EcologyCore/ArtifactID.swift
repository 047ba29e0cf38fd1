/// Artifact identifiers: one namespace for agents, tools, accounts and data.
/// Valid IDs are 1-128 characters of `[A-Za-z0-9_.-]`.
public enum ArtifactID {
    public static let maxLength = 128

    /// Returns the ID if valid, or an INVALID_ARGS error naming the problem.
    public static func validate(_ id: String, field: String = "artifact_id") throws -> String {
        if id.isEmpty { throw KernelError.invalid("\(field) must not be empty") }
        if id.utf8.count > maxLength {
            throw KernelError.invalid("\(field) is \(id.utf8.count) characters; the maximum is \(maxLength)")
        }
        for b in id.utf8 {
            let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x5F || b == 0x2E || b == 0x2D
            if !ok {
                throw KernelError.invalid("\(field) '\(id.prefix(40))' may contain only letters, digits, '_', '.' and '-'")
            }
        }
        return id
    }

    public static func isValid(_ id: String) -> Bool { (try? validate(id)) != nil }
}
