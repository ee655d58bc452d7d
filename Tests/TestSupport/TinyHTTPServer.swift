import Foundation
import Synchronization

/// A small blocking HTTP/1.1 server on 127.0.0.1 for Reactor tests: keep-alive, a thread per
/// connection, answers every request with `body` after `delay` seconds, or never when `silent`.
/// Counts connections accepted and requests answered, so tests can see connection reuse.
public final class TinyHTTPServer: @unchecked Sendable {
    // @unchecked Sendable: configuration is immutable after init; counters are atomics.
    public let port: Int
    private let listener: Int32
    private let delay: Double
    private let silent: Bool
    private let body: String
    public let connections = Atomic<Int>(0)
    public let requests = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    public init(delay: Double = 0, silent: Bool = false, body: String = "hello") throws {
        self.delay = delay
        self.silent = silent
        self.body = body
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 1024) == 0 else { throw TestSupportError("cannot listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public var url: String { "http://127.0.0.1:\(port)/" }

    public func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            connections.add(1, ordering: .sequentiallyConsistent)
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            guard let headerEnd = pending.range(of: Data("\r\n\r\n".utf8)) else {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { return }
                pending.append(contentsOf: buffer[0..<count])
                continue
            }
            let head = String(decoding: pending[..<headerEnd.lowerBound], as: UTF8.self).lowercased()
            var length = 0
            for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            while pending.count < headerEnd.upperBound + length {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { return }
                pending.append(contentsOf: buffer[0..<count])
            }
            pending.removeSubrange(..<(headerEnd.upperBound + length))
            if silent {
                // Hold the connection open without answering until the client gives up.
                while read(client, &buffer, buffer.count) > 0 {}
                return
            }
            if delay > 0 { Wait.pause(seconds: delay) }
            requests.add(1, ordering: .sequentiallyConsistent)
            let response =
                "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nContent-Type: text/plain\r\n\r\n\(body)"
            _ = response.withCString { write(client, $0, strlen($0)) }
        }
    }
}
