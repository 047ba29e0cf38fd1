import EcologyCore

extension WorldConfig {
    /// The configuration as YAML in one canonical form: every key, in file order,
    /// strings double-quoted, prices sorted by model, no comments. Loading it gives back
    /// this configuration exactly; equal configurations give identical text however
    /// their files were written.
    public var canonicalYAML: String {
        ConfigMapping.emit(self, indent: "", entries: WorldConfigSchema.entries).joined(separator: "\n") + "\n"
    }

    /// A stable identity of this configuration for the world database to record:
    /// the lowercase hex SHA-256 of `canonicalYAML`.
    public var fingerprint: String {
        SHA256Digest.hex(of: Array(canonicalYAML.utf8))
    }
}
