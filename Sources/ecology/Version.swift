/// The version of this `ecology` binary: `ecology --version`, `ecology doctor` and the
/// first line of `ecology run` print it. The one place it is set.
enum EcologyVersion {
    static let current = "0.1.0"
}
