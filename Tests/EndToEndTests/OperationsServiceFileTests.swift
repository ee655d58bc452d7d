import Foundation
import XCTest

/// The service definitions in contrib/: restart on failure, stop by SIGTERM, and a stop
/// timeout longer than the worker's own SHUTDOWN_TIMEOUT_SECONDS default (60 s).
final class OperationsServiceFileTests: XCTestCase {
    private static let shutdownTimeoutDefault = 60.0

    private func contribFile(_ name: String) throws -> String {
        // Tests/EndToEndTests/<this file> → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("contrib/" + name), encoding: .utf8)
    }

    func testSystemdUnitRestartsOnFailureAndOutwaitsTheWorkersShutdown() throws {
        let unit = try contribFile("reactor-worker.service")
        var settings: [String: String] = [:]
        for line in unit.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { settings[String(parts[0])] = String(parts[1]) }
        }
        XCTAssertEqual(settings["Restart"], "on-failure")
        XCTAssertEqual(settings["KillSignal"], "SIGTERM")
        XCTAssertNotNil(settings["WorkingDirectory"])
        XCTAssertNotNil(settings["EnvironmentFile"])
        XCTAssertTrue(settings["ExecStart"]?.hasSuffix("reactor-worker run") ?? false)
        let stop = try XCTUnwrap(settings["TimeoutStopSec"].flatMap(Double.init))
        XCTAssertGreaterThan(stop, Self.shutdownTimeoutDefault)
    }

    func testLaunchdPlistKeepsAliveOnFailureAndOutwaitsTheWorkersShutdown() throws {
        let data = Data(try contribFile("com.reactor-worker.plist").utf8)
        let plist = try XCTUnwrap(
            try PropertyListSerialization.propertyList(from: data, format: nil) as? [String: Any])
        XCTAssertEqual(plist["Label"] as? String, "com.reactor-worker")
        XCTAssertEqual((plist["KeepAlive"] as? [String: Any])?["SuccessfulExit"] as? Bool, false)
        XCTAssertEqual((plist["ProgramArguments"] as? [String])?.last, "run")
        XCTAssertNotNil(plist["WorkingDirectory"] as? String)
        let exitTimeout = try XCTUnwrap((plist["ExitTimeOut"] as? NSNumber)?.doubleValue)
        XCTAssertGreaterThan(exitTimeout, Self.shutdownTimeoutDefault)
    }
}
