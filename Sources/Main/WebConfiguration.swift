import ArgumentParser
import Foundation
import Jobs
import Reactor
import Web

/// `--web HOST:PORT` and `--no-web`, shared by `run` and `web`.
struct WebOptions: ParsableArguments {
    @Option(
        name: .customLong("web"),
        help: "Serve the dashboard on HOST:PORT (WEB_ADDRESS, default 127.0.0.1:5001; port 0 picks a free one).")
    var address: String?

    @Flag(name: .customLong("no-web"), help: "Do not serve the dashboard (same as WEB_ADDRESS=off).")
    var off = false
}

extension Configuration {
    /// The dashboard's settings from the flags and `WEB_*` variables, or nil when it is off.
    /// A dashboard that would be open to the network without `WEB_TOKEN` is refused here, so the
    /// worker does not start with it.
    func webSettings(_ options: WebOptions, store: JobStoreLocation, outputDirectory: String) throws -> WebSettings? {
        if options.off { return nil }
        let text = string("WEB_ADDRESS", flag: options.address) ?? WebAddress.standard.description
        if ["off", "none", "false", "no", "0"].contains(text.lowercased()) { return nil }
        guard let address = WebAddress(parsing: text) else {
            throw ConfigurationError(
                message: "WEB_ADDRESS must be HOST:PORT such as 127.0.0.1:5001 (or off), got '\(text)'")
        }
        var settings = WebSettings(address: address, store: store, outputDirectory: outputDirectory)
        settings.token = string("WEB_TOKEN")
        settings.readOnly = try flag("WEB_READ_ONLY")
        settings.maxUploadBytes = try integer("WEB_MAX_UPLOAD_MB", default: 200, minimum: 1) << 20
        settings.secrets = secrets
        settings.budgets = try budgets()
        settings.notice = string("WEB_NOTICE")
        settings.allowedHosts = (string("WEB_ALLOWED_HOSTS") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        if let refusal = settings.refusal { throw ConfigurationError(message: refusal) }
        return settings
    }

    /// `1`/`true`/`yes` or `0`/`false`/`no` (unset is false).
    func flag(_ name: String) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return false }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(message: "\(name) must be 1 or 0 (true or false), got '\(text)'")
        }
    }
}
