/// The dashboard page, built into the binary (SwiftPM `embedInCode` resources from
/// `Assets/`): it works with no network and no files beside the executable.
enum DashboardAssets {
    static var html: [UInt8] { PackageResources.dashboard_html }
    static var script: [UInt8] { PackageResources.dashboard_js }
    static var style: [UInt8] { PackageResources.dashboard_css }
}
