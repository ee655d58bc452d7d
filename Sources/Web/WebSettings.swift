import Foundation
import Jobs
import Reactor

/// What the dashboard serves and how it guards it. Built by `Sources/Main` from flags and the
/// environment (`WEB_ADDRESS`, `WEB_TOKEN`, `WEB_READ_ONLY`, `WEB_MAX_UPLOAD_MB`); the web
/// module itself never reads the environment.
public struct WebSettings: Sendable {
    public var address: WebAddress
    public var store: JobStoreLocation
    /// Absolute, standardized: `/files/` serves only what lies beneath it.
    public var outputDirectory: String
    /// When set, every request must carry it (cookie from the login form, or `Authorization: Bearer`).
    public var token: String?
    /// Hides every button and refuses every change (403).
    public var readOnly = false
    public var maxUploadBytes = 200 << 20
    /// Secret values to redact from params, results and errors before they are shown.
    public var secrets: [String] = []
    /// Shown as a banner on every page (the demo's "the providers are fake").
    public var notice: String?
    /// Extra host names the `Host` header may carry when bound to a wildcard address.
    public var allowedHosts: [String] = []
    /// The daily budgets, for the spend card's "left today" (the worker's own settings).
    public var budgets = DailyBudgets()

    public init(address: WebAddress, store: JobStoreLocation, outputDirectory: String) {
        self.address = address
        self.store = store
        self.outputDirectory = URL(fileURLWithPath: outputDirectory).standardizedFileURL.path
    }

    /// Why these settings must not be served, or nil. A dashboard on a non-loopback address
    /// without a token would let anyone on the network queue paid work.
    public var refusal: String? {
        if !address.isLoopback && (token ?? "").isEmpty {
            return
                "WEB_ADDRESS \(address) is reachable from other machines; set WEB_TOKEN (16+ characters) so only people with it can use the dashboard, or bind to 127.0.0.1"
        }
        if let token, !token.isEmpty, token.count < 16 {
            return "WEB_TOKEN is \(token.count) characters; use at least 16 (e.g. `openssl rand -hex 16`)"
        }
        if maxUploadBytes < 1 { return "WEB_MAX_UPLOAD_MB must be at least 1" }
        return nil
    }
}

/// `HOST:PORT` to listen on, parsed once (`127.0.0.1:5001`, `[::1]:8080`, `0.0.0.0:5001`).
public struct WebAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let standard = WebAddress(host: "127.0.0.1", port: 5001)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback); nil with no valid port 0…65535.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { return nil }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { return nil }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65_535).contains(port), !host.contains(" ") else { return nil }
        self.host = host.isEmpty ? "127.0.0.1" : String(host)
        self.port = port
    }

    /// True for 127.0.0.0/8, ::1 and `localhost`: only this machine can connect.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// True for 0.0.0.0 and ::, which listen on every interface.
    public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }

    /// How the host is written in a URL (IPv6 in brackets; a wildcard reached through loopback).
    public var urlHost: String {
        switch host {
        case "0.0.0.0": "127.0.0.1"
        case "::": "[::1]"
        default: host.contains(":") ? "[\(host)]" : host
        }
    }

    public var description: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
