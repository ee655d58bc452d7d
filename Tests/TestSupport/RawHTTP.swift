import Foundation

/// HTTP/1.1 over a plain socket, for tests that must send exactly what they mean: a forged
/// `Host`, a path with `..` or `%2e%2e` that URL libraries would tidy away, any `Origin`.
/// One request per connection (`Connection: close`).
public struct RawHTTP: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        /// Header names lowercased.
        public let headers: [String: String]
        public let body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The body parsed as a JSON object (empty when it is not one).
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
        }
    }

    public let port: Int

    public init(port: Int) { self.port = port }

    /// Sends one request to 127.0.0.1:`port`. `Host` defaults to `127.0.0.1:port`;
    /// a `Content-Length` is added for a body.
    public func send(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil, timeout: Double = 30
    ) throws -> Reply {
        let socket = try Self.connect(port: port, timeout: timeout)
        defer { close(socket) }
        var head = "\(method) \(path) HTTP/1.1\r\n"
        var fields = headers
        if !fields.keys.contains(where: { $0.lowercased() == "host" }) { fields["Host"] = "127.0.0.1:\(port)" }
        fields["Connection"] = "close"
        if let body { fields["Content-Length"] = String(body.count) }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try Self.write(socket, Data(head.utf8) + (body ?? Data()))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Read to the end of the answer: its Content-Length, the last chunk, or the close
        // (a server may keep the connection open despite `Connection: close`).
        while !Self.isComplete(received) {
            let count = read(socket, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return try Self.parse(received)
    }

    /// Opens `path` (an event stream) and reads until `until` holds for what arrived or
    /// `timeout` passes; returns everything read.
    public func stream(_ path: String, timeout: Double, until: (String) -> Bool) throws -> String {
        let socket = try Self.connect(port: port, timeout: 0.2)
        defer { close(socket) }
        try Self.write(
            socket, Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\r\n".utf8))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let count = read(socket, &buffer, buffer.count)
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                if until(String(decoding: received, as: UTF8.self)) { break }
            } else if count == 0 {
                break
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                break
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Sends a GET for `path` and never reads the answer: a client that stalls. Close the
    /// returned descriptor to let it go.
    public func stall(_ path: String) throws -> Int32 {
        let socket = try Self.connect(port: port, timeout: 1)
        try Self.write(socket, Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
        return socket
    }

    private static func connect(port: Int, timeout: Double) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            throw TestSupportError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return socket
    }

    private static func write(_ socket: Int32, _ data: Data) throws {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let count = Glibc.send(socket, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if count < 0 && errno == EINTR { continue }
                // The server may answer (413) and close before reading all of a large body.
                guard count > 0 else { return }
                sent += count
            }
        }
    }

    /// True once `data` holds a whole answer with a known end.
    static func isComplete(_ data: Data) -> Bool {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<split.lowerBound], as: UTF8.self).lowercased()
        let bodyCount = data.distance(from: split.upperBound, to: data.endIndex)
        for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
            return bodyCount >= Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? Int.max
        }
        if head.contains("transfer-encoding: chunked") || head.contains("transfer-encoding:chunked") {
            return data.suffix(5) == Data("0\r\n\r\n".utf8)
        }
        return head.hasPrefix("http/1.1 304") || head.hasPrefix("http/1.1 204")
    }

    /// Status line, headers and body (Content-Length, chunked, or to the end).
    static func parse(_ data: Data) throws -> Reply {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw TestSupportError(
                "no HTTP answer (\(data.count) bytes): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        let lines = String(decoding: data[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Data(data[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded = Data()
            var rest = body[...]
            while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
                let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
                if size == 0 { break }
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
                let end = rest.index(start, offsetBy: size)
                decoded.append(rest[start..<end])
                rest = rest[(rest.index(end, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex)...]
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length < body.count {
            body = body.prefix(length)
        }
        return Reply(status: status, headers: headers, body: body)
    }
}
