import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

/// REACTOR-NOTES.md A.11, "removing a transfer whose name is still resolving": without
/// CURLOPT_QUICK_EXIT, curl 7.88 joins the resolver thread on removal, blocking the loop for as
/// long as getaddrinfo hangs. To make a resolve really hang, the test re-runs itself in a private
/// mount namespace whose resolv.conf names a local DNS port that never answers (loopback only).
final class ResolverCancelTests: XCTestCase {
    static let marker = "REACTOR_TEST_SILENT_DNS"

    func testTransferCancelledWhileResolvingDoesNotBlockTheLoop() throws {
        if ProcessInfo.processInfo.environment[Self.marker] == nil {
            try runInsideSilentDNSNamespace()
            return
        }
        // Inside the namespace: a DNS "server" that reads queries and never answers.
        let dns = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(dns) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(53).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(dns, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(bound, 0, "cannot bind 127.0.0.1:53 (errno \(errno))")

        let runner = LoopThread()
        defer { runner.stop() }
        let holder = ResultBox<HTTPClient>()
        holder.value = runner.sync { HTTPClient(loop: runner.loop) }
        defer { runner.sync { holder.value = nil } }
        let client = holder.value!
        let completed = Atomic<Bool>(false)
        let id = runner.sync {
            client.send(HTTPRequest(url: "http://never-answers.reactor-test/", timeout: 60)) { _ in
                completed.store(true, ordering: .relaxed)
            }
        }
        // Proof the transfer is stuck in name resolution: the query reached our silent server.
        var query = [UInt8](repeating: 0, count: 512)
        var pollDescriptor = pollfd(fd: dns, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&pollDescriptor, 1, 10_000), 1, "the resolver never asked our DNS server")
        XCTAssertGreaterThan(recv(dns, &query, query.count, 0), 0)

        let started = Date()
        runner.sync { client.cancel(id) }
        let cancelTook = Date().timeIntervalSince(started)
        XCTAssertLessThan(cancelTook, 1, "cancel blocked the loop for \(cancelTook) s waiting on the resolver")
        XCTAssertFalse(completed.load(ordering: .relaxed))
        XCTAssertEqual(runner.sync { client.activeCount }, 0)
    }

    private func runInsideSilentDNSNamespace() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            throw XCTSkip("needs root and unshare(1) to give this test its own resolv.conf")
        }
        let directory = NSTemporaryDirectory() + "silent-dns-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let resolvConf = directory + "/resolv.conf"
        try "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n".write(
            toFile: resolvConf, atomically: true, encoding: .utf8)
        let testBinary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let name = "ReactorTests.ResolverCancelTests/testTransferCancelledWhileResolvingDoesNotBlockTheLoop"
        var environment = ProcessInfo.processInfo.environment
        environment[Self.marker] = "1"
        let child = try ChildProcess(
            executable: "/usr/bin/unshare",
            arguments: [
                "-m", "/bin/sh", "-c", "mount --bind \"$1\" /etc/resolv.conf && exec \"$2\" \"$3\"", "sh", resolvConf,
                testBinary, name,
            ],
            environment: environment, outputPrefix: directory + "/inner")
        let status = child.waitForExit(timeout: 120)
        let output = child.stdout + child.stderr
        XCTAssertEqual(status, 0, "the test inside the namespace failed:\n\(output)")
        XCTAssertTrue(output.contains("Executed 1 test"), "the inner test did not run:\n\(output)")
    }
}
